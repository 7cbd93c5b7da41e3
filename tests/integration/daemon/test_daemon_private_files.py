"""meta.db, its -wal and -shm, and the daemon's private dirs and files are root's alone, also when an
older pyruncd left them wider (tests/e2e/test_private_files.py drives the whole daemon)."""

import os
import sqlite3
import stat

import pytest
from pyruncd import db
from pyruncd.fsutil import private_dir, write_private


def mode(p) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def test_a_new_meta_db_and_its_wal_and_shm_are_0600(tmp_path):
    old = os.umask(0o022)
    try:
        conn = db.connect(tmp_path / "meta.db")
        conn.execute("INSERT INTO volumes(name, created_at) VALUES ('v', 'now')")
        assert {f: mode(tmp_path / f) for f in ("meta.db", "meta.db-wal", "meta.db-shm")} == \
            {"meta.db": 0o600, "meta.db-wal": 0o600, "meta.db-shm": 0o600}
        conn.close()
    finally:
        os.umask(old)


def test_an_older_meta_db_is_narrowed_with_the_wal_and_shm_it_left(tmp_path):
    path = tmp_path / "meta.db"
    other = sqlite3.connect(path, isolation_level=None)  # holds -wal and -shm open, as a crashed daemon left them
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE t (x)")
    for f in ("meta.db", "meta.db-wal", "meta.db-shm"):
        os.chmod(tmp_path / f, 0o644)
    try:
        db.connect(path).close()
        assert [mode(tmp_path / f) for f in ("meta.db", "meta.db-wal", "meta.db-shm")] == [0o600] * 3
    finally:
        other.close()


def test_private_dir_and_file_narrow_what_exists(tmp_path):
    d = tmp_path / "root"
    d.mkdir(mode=0o755)
    (d / "containers").mkdir(mode=0o755)
    for p in (d, d / "containers"):
        assert private_dir(p) == p
    private_dir(d / "containers" / "c1")
    assert [mode(d), mode(d / "containers"), mode(d / "containers" / "c1")] == [0o710] * 3
    f = d / "config.json"
    f.write_text("old")
    os.chmod(f, 0o644)
    write_private(f, "{}")
    assert (mode(f), f.read_text()) == (0o600, "{}")
    (d / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        write_private(d / "link", "{}")
    assert not (tmp_path / "elsewhere").exists()
