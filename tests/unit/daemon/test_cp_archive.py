"""The cp helper's library, in-process on a temp rootfs: no name lookups, paths resolved in scope."""

import grp
import io
import os
import pwd
import tarfile

import pytest
from pyruncd.containers import archive


@pytest.fixture
def no_names(monkeypatch):
    """Any user or group name lookup fails the test: in the helper it would load the container's NSS."""
    def tripwire(*a):
        raise AssertionError("a name lookup")
    for mod, names in ((pwd, ("getpwuid", "getpwnam")), (grp, ("getgrgid", "getgrnam"))):
        for n in names:
            monkeypatch.setattr(mod, n, tripwire)


def _root(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "f").write_text("x")
    os.symlink("/etc", root / "abs")
    os.symlink("../../../etc", root / "up")
    return root, os.open(root, os.O_PATH | os.O_DIRECTORY)


def test_get_and_put_resolve_in_scope_without_names(tmp_path, no_names):
    root, fd = _root(tmp_path)
    try:
        for path in ("/abs/f", "/up/f", "/etc/../../etc/f"):
            buf = io.BytesIO()
            archive.get(fd, path, buf)
            buf.seek(0)
            with tarfile.open(fileobj=buf) as tf:
                (m,) = tf.getmembers()
                assert (m.name, m.uname, m.gname) == ("f", "", "")
                assert tf.extractfile(m).read() == b"x"
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tf:
            info = tarfile.TarInfo("new")
            info.size, info.uid, info.gid, info.uname, info.gname = 1, os.getuid(), os.getgid(), "root", "root"
            tf.addfile(info, io.BytesIO(b"y"))
        data.seek(0)
        archive.put(fd, "/up/renamed", data)
        assert (root / "etc" / "renamed").read_text() == "y"
        with pytest.raises(archive.CopyError, match="Could not find the file /abs/nope in container"):
            archive.get(fd, "/abs/nope", io.BytesIO())
    finally:
        os.close(fd)


def test_symlink_loops_end(tmp_path):
    root, fd = _root(tmp_path)
    os.symlink("loop", root / "loop")
    try:
        with pytest.raises(OSError, match="Too many levels"):
            archive.get(fd, "/loop/x", io.BytesIO())
    finally:
        os.close(fd)
