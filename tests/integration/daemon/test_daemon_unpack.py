"""Layer extraction on the real filesystem: overlay whiteouts, attributes, and the refusals."""

import io
import os
import stat

import pytest
from pyruncd.errors import DigestMismatch, UnsafeLayer
from pyruncd.snapshots.unpack import apply_layer
from spec_fixtures import Layer, device, directory, fifo, file, hardlink, opaque, symlink, whiteout

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts (mknod) and chown need root")


def _apply(layer: Layer, dest, lowers=()):
    dest.mkdir(parents=True, exist_ok=True)
    return apply_layer(io.BytesIO(layer.blob), dest, layer.diff_id, list(lowers))


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_files_links_and_attributes(tmp_path, compression):
    layer = Layer.of([
        directory("etc", mode=0o750, uid=1, gid=2),
        file("etc/passwd", b"root:x:0:0\n", mode=0o4755, uid=3, gid=4, mtime=1000),
        hardlink("etc/passwd2", "etc/passwd"),
        symlink("etc/link", "/etc/passwd"),
        fifo("etc/fifo"),
    ], compression=compression)
    size = _apply(layer, tmp_path / "fs")
    fs = tmp_path / "fs"
    st = os.lstat(fs / "etc/passwd")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_mtime) == (3, 4, 0o4755, 1000)
    assert os.lstat(fs / "etc").st_mode & 0o777 == 0o750
    assert os.lstat(fs / "etc/passwd2").st_ino == st.st_ino
    assert os.readlink(fs / "etc/link") == "/etc/passwd"
    assert stat.S_ISFIFO(os.lstat(fs / "etc/fifo").st_mode)
    assert size == len(b"root:x:0:0\n")


def test_whiteouts_become_overlay_ones(tmp_path):
    _apply(Layer.of([directory("a"), whiteout("a/gone"), opaque("b"), file("b/keep", b"k")]), tmp_path / "fs")
    st = os.lstat(tmp_path / "fs/a/gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert os.getxattr(tmp_path / "fs/b", "trusted.overlay.opaque") == b"y"
    assert not (tmp_path / "fs/a/.wh.gone").exists()


def test_implicit_parents_copy_the_lower_layer(tmp_path):
    _apply(Layer.of([directory("tmp", mode=0o1777, uid=5, gid=6)]), tmp_path / "low")
    _apply(Layer.of([file("tmp/x", b"x")]), tmp_path / "up", [tmp_path / "low"])
    st = os.lstat(tmp_path / "up/tmp")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o1777, 5, 6)


@pytest.mark.parametrize("entries, message", [
    ([file("../escape", b"x")], "path traversal"),
    ([file("a/../../escape", b"x")], "path traversal"),
    ([file("/abs", b"x")], "absolute path"),
    ([symlink("evil", "/etc"), file("evil/passwd", b"x")], "symlink evil -> /etc escapes the layer"),
    ([symlink("evil", "../../.."), file("evil/x", b"x")], "escapes the layer"),
    ([directory("d"), symlink("d/in", "."), file("d/in/x", b"x")], "would be written through"),
    ([hardlink("h", "../../etc/shadow")], "path traversal"),
    ([hardlink("h", "nothere")], "target is not in the layer"),
    ([symlink("s", "/etc"), hardlink("h", "s/shadow")], "escapes the layer"),
    ([device("null", "char", 1, 3)], "device node"),
    ([device("sda", "block", 8, 0)], "device node"),
])
def test_refusals(tmp_path, entries, message):
    outside = tmp_path / "outside"
    outside.mkdir()
    with pytest.raises(UnsafeLayer, match=message):
        _apply(Layer.of(entries), tmp_path / "a" / "fs")
    assert os.listdir(outside) == []
    assert not (tmp_path / "escape").exists() and not (tmp_path / "a" / "escape").exists()


def test_diff_id_is_verified(tmp_path):
    layer = Layer.of([file("x", b"x")])
    (tmp_path / "fs").mkdir()
    with pytest.raises(DigestMismatch, match="uncompressed content hashes to"):
        apply_layer(io.BytesIO(layer.blob), tmp_path / "fs", "sha256:" + "0" * 64, [])
