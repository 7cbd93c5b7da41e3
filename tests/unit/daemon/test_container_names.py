"""Generated container names, as dockerd's: never a loop without end, whatever is taken."""

from pyruncd import db
from pyruncd.containers import store as store_module
from pyruncd.containers.store import Store

CID = "0123456789ab" + "c" * 52


def test_a_generated_name_is_free_and_falls_back_to_the_short_id_when_all_are_taken(tmp_path):
    store = Store(db.connect(tmp_path / "meta.db"))
    name = store.new_name(CID)
    assert name.count("_") == 1 and name != CID[:12]
    taken = {f"{a}_{b}{d}" for a in store_module._LEFT for b in store_module._RIGHT for d in ["", *"0123456789"]}
    real = store.conn

    class Taken:
        def execute(self, sql, args):
            return real.execute("SELECT 1") if args[0] in taken else real.execute("SELECT 1 WHERE 0")

    store.conn = Taken()
    assert store.new_name(CID) == CID[:12]
