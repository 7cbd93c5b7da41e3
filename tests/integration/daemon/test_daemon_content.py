import hashlib
import os

import pytest
from pyruncd import db
from pyruncd.content import ContentStore
from pyruncd.errors import DigestMismatch, InvalidArgument


def _d(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_write_verifies_and_publishes(tmp_path):
    cs = ContentStore(tmp_path)
    digest = cs.write(b"hello", _d(b"hello"))
    assert cs.has(digest) and cs.read(digest) == b"hello"
    assert cs.path(digest).stat().st_mode & 0o777 == 0o644
    assert list(cs.digests()) == [digest]
    assert os.listdir(cs.ingest_dir) == []


def test_mismatch_leaves_nothing(tmp_path):
    cs = ContentStore(tmp_path)
    with pytest.raises(DigestMismatch, match="content hashes to"):
        cs.write(b"evil", _d(b"good"))
    assert list(cs.digests()) == [] and os.listdir(cs.ingest_dir) == []
    with pytest.raises(DigestMismatch, match="size 4 does not match the announced 5"):
        with cs.writer(_d(b"good!"), 5) as w:
            w.write(b"good")
            w.commit()
    assert list(cs.digests()) == []


def test_abandoned_writer_is_removed(tmp_path):
    cs = ContentStore(tmp_path)
    with pytest.raises(RuntimeError):
        with cs.writer(_d(b"x")) as w:
            w.write(b"x")
            raise RuntimeError("cut off")
    assert os.listdir(cs.ingest_dir) == []
    # a writer left by a crash is swept when the store opens again
    (cs.ingest_dir / "blob-left").write_bytes(b"partial")
    ContentStore(tmp_path)
    assert os.listdir(cs.ingest_dir) == []


def test_bad_digest_names_the_field(tmp_path):
    with pytest.raises(InvalidArgument, match="invalid digest 'md5:00'"):
        ContentStore(tmp_path).writer("md5:00")


def test_db_migrates_once_in_wal(tmp_path):
    conn = db.connect(tmp_path / "meta.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
    conn.close()
    conn = db.connect(tmp_path / "meta.db")  # already current: nothing runs again
    assert db.migrate(conn) == len(db.MIGRATIONS)
    conn.execute(f"PRAGMA user_version={len(db.MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer than this pyruncd"):
        db.migrate(conn)
    conn.close()
