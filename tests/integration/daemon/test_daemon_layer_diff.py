"""Layers from overlay upper dirs, on a real overlay mount: the tar, its snapshot (unpacked or adopted),
and the image made of them."""

import asyncio
import dataclasses
import hashlib
import io
import os
import stat
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest
from pyruncd.daemon import Config, Daemon
from pyruncd.errors import UnsafeLayer
from pyruncd.images.commit import HistoryEntry, NewImage, RunConfig, commit_image
from pyruncd.images.manifest import OCI_LAYER_GZIP, chain_ids
from pyruncd.reference import parse
from pyruncd.snapshots.changes import changes
from pyruncd.snapshots.diff import LayerBlob, write_layer, write_layer_tar
from spec_fixtures import Layer, directory, file, symlink

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts, whiteouts and owners need root")

BASE = Layer.of([
    directory("etc"), file("etc/passwd", b"root:x:0:0\n"), file("etc/hosts", b"127.0.0.1\n"),
    directory("opt"), directory("opt/sub"), file("opt/sub/old", b"old"), file("opt/keep", b"k"),
    directory("gone"), file("gone/x", b"x"), symlink("lnk", "etc/passwd"), directory("tmp", mode=0o1777),
])
# a valid VFS_CAP_REVISION_2 value: cap_net_bind_service permitted + effective
CAP = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(Config(root=tmp_path / "root"))
    yield d
    d.close()


def _base_snapshot(d: Daemon) -> str:
    blob = d.content.write(BASE.blob)
    snap, _ = asyncio.run(d.snapshots.unpack(BASE.diff_id, "", BASE.diff_id, d.content.path(blob)))
    return snap.chain_id


class Overlay:
    def __init__(self, tmp: Path, lowers: list[Path]):
        self.upper, self.work, self.merged = tmp / "upper", tmp / "work", tmp / "merged"
        for p in (self.upper, self.work, self.merged):
            p.mkdir()
        self.lowers = lowers

    def __enter__(self) -> Path:
        opts = f"lowerdir={':'.join(map(str, self.lowers))},upperdir={self.upper},workdir={self.work}"
        subprocess.run(["mount", "-t", "overlay", "-o", opts, "overlay", str(self.merged)], check=True)
        return self.merged

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["umount", str(self.merged)], check=True)


def _change(m: Path) -> None:
    (m / "etc/passwd").write_bytes(b"root:x:0:0\nbob:x:1000:1000\n")     # changed
    os.unlink(m / "etc/hosts")                                             # deleted
    subprocess.run(["rm", "-rf", str(m / "opt")], check=True)               # deleted, then made again:
    (m / "opt").mkdir()                                                    # opaque
    (m / "opt/new").write_bytes(b"new")
    subprocess.run(["rm", "-rf", str(m / "gone")], check=True)
    (m / "app").mkdir(mode=0o750)
    os.chown(m / "app", 1000, 1001)
    (m / "app/bin").write_bytes(b"#!/bin/sh\n")
    os.chmod(m / "app/bin", 0o4755)
    os.link(m / "app/bin", m / "app/bin2")
    os.symlink("../etc/passwd", m / "app/pw")
    os.mkfifo(m / "app/fifo")
    os.setxattr(m / "app/bin", "security.capability", CAP)
    os.setxattr(m / "app/bin", "user.note", b"dropped")
    os.utime(m / "app/bin", (1_600_000_000, 1_600_000_000))


def _tree(root: Path) -> dict[str, tuple]:
    """Every entry below root: kind, mode, owner, content or target, capability."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = os.lstat(p)
            rel = str(p.relative_to(root))
            what: object = None
            if stat.S_ISREG(st.st_mode):
                what = (p.read_bytes(), st.st_mtime if rel == "app/bin" else None)
            elif stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            try:
                cap = os.getxattr(p, "security.capability", follow_symlinks=False)
            except OSError:
                cap = None
            out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, what, cap)
    return out


def _members(blob: bytes) -> list[tuple[str, str, int, str]]:
    with tarfile.open(fileobj=io.BytesIO(blob)) as tf:
        return [(m.name, m.type.decode(), m.mode, m.linkname) for m in tf]


def test_layer_of_an_upper_dir_unpacks_to_the_same_tree(daemon, tmp_path):
    base = _base_snapshot(daemon)
    lower = daemon.snapshots.get(base).fs
    ov = Overlay(tmp_path, [lower])
    with ov as merged:
        _change(merged)
        expected = _tree(merged)
        diff = [(c.kind, c.path) for c in changes(ov.upper, [lower])]
    # docker's order and rules: an opaque directory that hid something is a deletion
    assert diff == [("A", "/app"), ("A", "/app/bin"), ("A", "/app/bin2"), ("A", "/app/fifo"), ("A", "/app/pw"),
                    ("C", "/etc"), ("D", "/etc/hosts"), ("C", "/etc/passwd"), ("D", "/gone"),
                    ("D", "/opt"), ("A", "/opt/new")]

    layer = write_layer(ov.upper, daemon.content)
    blob = daemon.content.read(layer.digest)
    assert layer.digest == layer.diff_id == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert layer.files_size == len(b"#!/bin/sh\n") + len(b"root:x:0:0\nbob:x:1000:1000\n") + len(b"new")
    names = [m[0] for m in _members(blob)]
    assert names == ["app", "app/bin", "app/bin2", "app/fifo", "app/pw", "etc", "etc/.wh.hosts", "etc/passwd",
                     ".wh.gone", "opt", "opt/.wh..wh..opq", "opt/new"]
    with tarfile.open(fileobj=io.BytesIO(blob)) as tf:
        bin2 = tf.getmember("app/bin2")
        assert bin2.islnk() and bin2.linkname == "app/bin"
        app_bin = tf.getmember("app/bin")
        assert app_bin.mode == 0o4755 and app_bin.mtime == 1_600_000_000 and app_bin.uname == ""
        assert set(app_bin.pax_headers) == {"SCHILY.xattr.security.capability"}
        assert (tf.getmember("app").uid, tf.getmember("app").gid) == (1000, 1001)

    chain = chain_ids([BASE.diff_id, layer.diff_id])[1]
    snap, made = asyncio.run(daemon.snapshots.unpack(chain, base, layer.diff_id, daemon.content.path(layer.digest)))
    assert made
    (tmp_path / "view").mkdir()
    with Overlay(tmp_path / "view", [snap.fs, lower]) as merged:
        assert _tree(merged) == expected


def test_the_same_changes_give_the_same_digest_and_gzip_keeps_the_diff_id(daemon, tmp_path):
    for n in ("a", "b"):
        (tmp_path / n / "d").mkdir(parents=True)
        (tmp_path / n / "d/f").write_bytes(b"same")
        os.utime(tmp_path / n / "d/f", (5, 5))
        os.utime(tmp_path / n / "d", (7, 7))
    a = write_layer(tmp_path / "a", daemon.content)
    b = write_layer(tmp_path / "b", daemon.content)
    assert a == b
    gz = write_layer(tmp_path / "a", daemon.content, compress=True)
    assert gz.diff_id == a.diff_id and gz.digest != a.digest
    assert gz.media_type.endswith("+gzip")
    assert write_layer(tmp_path / "b", daemon.content, compress=True).digest == gz.digest
    clamped = io.BytesIO()
    write_layer_tar(tmp_path / "a", clamped, clamp_mtime=6)
    assert [m.mtime for m in tarfile.open(fileobj=io.BytesIO(clamped.getvalue()))] == [6, 5]


def test_hostile_upper_dir_is_never_followed_or_read_beyond_files(daemon, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    (tmp_path / "secret").write_bytes(b"host secret")
    os.symlink(str(tmp_path / "secret"), up / "s")          # archived as a link, never read
    os.symlink(str(tmp_path), up / "d")                     # never descended into
    os.mkfifo(up / "fifo")                                  # never opened: a read would hang
    os.mknod(up / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    blob = io.BytesIO()
    write_layer_tar(up, blob)
    assert b"host secret" not in blob.getvalue()
    assert [(n, t) for n, t, _, _ in _members(blob.getvalue())] == [("d", "2"), ("fifo", "6"), ("null", "3"), ("s", "2")]


def test_adopt_moves_the_upper_dir_as_unpack_would_make_it(daemon, tmp_path):
    base = _base_snapshot(daemon)
    lower = daemon.snapshots.get(base).fs
    ov = Overlay(tmp_path, [lower])
    with ov as merged:
        _change(merged)
        expected = _tree(merged)
    layer = write_layer(ov.upper, daemon.content)
    chain = chain_ids([BASE.diff_id, layer.diff_id])[1]
    snap, made = asyncio.run(daemon.snapshots.adopt(chain, base, layer.diff_id, ov.upper, layer.files_size,
                                                    daemon.content.path(layer.digest)))
    assert made and not ov.upper.exists() and snap.size == layer.files_size
    assert os.getxattr(snap.fs / "opt", "trusted.overlay.opaque") == b"y"
    assert os.listxattr(snap.fs / "app/bin") == ["security.capability"]
    (tmp_path / "view").mkdir()
    with Overlay(tmp_path / "view", [snap.fs, lower]) as merged:
        assert _tree(merged) == expected
    # the tar of the adopted snapshot is the tar of the upper dir it was
    assert write_layer(snap.fs, daemon.content).diff_id == layer.diff_id


def test_adopt_refuses_device_nodes_as_unpack_does(daemon, tmp_path):
    up = tmp_path / "up"
    up.mkdir()
    os.mknod(up / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    layer = write_layer(up, daemon.content)
    with pytest.raises(UnsafeLayer, match="device node"):
        asyncio.run(daemon.snapshots.adopt(layer.diff_id, "", layer.diff_id, up, 0, daemon.content.path(layer.digest)))
    assert daemon.snapshots.get(layer.diff_id) is None


def test_commit_image_is_deterministic_and_shows_in_history(daemon, tmp_path):
    base = _base_snapshot(daemon)
    first = NewImage(parent=None, layers=[], created="2026-01-01T00:00:00Z",
                     history=[HistoryEntry(created="2026-01-01T00:00:00Z", created_by="scratch", empty_layer=True)])
    with daemon.images.leases.hold() as lease:
        empty = commit_image(daemon.images, first, lease)
    assert empty.layers == []
    up = tmp_path / "up"
    up.mkdir()
    (up / "hello").write_bytes(b"hi")
    os.utime(up / "hello", (1, 1))
    made = []
    for _ in range(2):
        with daemon.images.leases.hold() as lease:
            layer = write_layer(up, daemon.content, compress=True, hold=lease.add)
            chain = chain_ids([BASE.diff_id, layer.diff_id])[1]
            lease.add(chain)
            asyncio.run(daemon.snapshots.unpack(chain, base, layer.diff_id, daemon.content.path(layer.digest)))
            parent_blob = daemon.content.write(BASE.blob)
            parent = _parent_image(daemon, parent_blob)
            new = NewImage(parent=parent, layers=[layer], created="2026-01-02T03:04:05Z", author="me",
                           config=RunConfig(cmd=["/hello"], env=["A=1"], labels={"b": "2", "a": "1"},
                                            exposed_ports=["80/tcp"]),
                           history=[HistoryEntry(created="2026-01-02T03:04:05Z", created_by="/bin/sh -c x",
                                                 comment="c"),
                                    HistoryEntry(created="2026-01-02T03:04:05Z", created_by="CMD", empty_layer=True)])
            made.append(commit_image(daemon.images, dataclasses.replace(new, tags=[parse("x:1")] if made else []),
                                     lease))
    assert made[0].id == made[1].id
    rec = daemon.images.lookup("x:1")
    assert [x.diff_id for x in rec.layers] == [BASE.diff_id, layer.diff_id]
    config = daemon.images.config(rec).doc
    assert config["config"] == {"ExposedPorts": {"80/tcp": {}}, "Env": ["A=1"], "Cmd": ["/hello"],
                                "Labels": {"a": "1", "b": "2"}}
    assert config["author"] == "me"
    rows = daemon.images.history("x:1")
    assert [(r.created_by, r.comment) for r in rows][:2] == [("CMD", ""), ("/bin/sh -c x", "c")]
    assert rows[1].size == 2 and rows[0].size == 0
    daemon.images.gc()
    assert daemon.images.lookup("x:1").id == rec.id


def _parent_image(daemon: Daemon, blob: str):
    """A one-layer parent image (the BASE layer) recorded through commit_image itself."""
    with daemon.images.leases.hold() as lease:
        base = NewImage(parent=None, created="2025-01-01T00:00:00Z",
                        layers=[_base_blob(daemon, blob)],
                        history=[HistoryEntry(created="2025-01-01T00:00:00Z", created_by="ADD base")])
        return commit_image(daemon.images, base, lease)


def _base_blob(daemon: Daemon, digest: str) -> LayerBlob:
    return LayerBlob(diff_id=BASE.diff_id, digest=digest, size=daemon.content.size(digest),
                     media_type=OCI_LAYER_GZIP, files_size=0)


@pytest.mark.parametrize("make, entries, diff", [
    # only the files made to mount over: no change, an empty layer
    (lambda m: None, [], []),
    (lambda m: (m / "etc/new").write_bytes(b"n"), ["etc", "etc/new"], [("C", "/etc"), ("A", "/etc/new")]),
    # an opaque directory hides what was below, placeholders or not
    (lambda m: (subprocess.run(["rm", "-rf", str(m / "etc")], check=True), (m / "etc").mkdir()),
     ["etc", "etc/.wh..wh..opq"], [("D", "/etc")]),
])
def test_mount_placeholders_are_no_change(daemon, tmp_path, make, entries, diff):
    base = _base_snapshot(daemon)
    lower = daemon.snapshots.get(base).fs
    ov = Overlay(tmp_path, [lower])
    with ov as merged:
        make(merged)
        for name in ("resolv.conf", "hostname"):
            (merged / "etc" / name).touch()
        expected = {k: v for k, v in _tree(merged).items() if k not in ("etc/resolv.conf", "etc/hostname")}
    placeholders = frozenset({"etc/resolv.conf", "etc/hostname"})
    assert [(c.kind, c.path) for c in changes(ov.upper, [lower], frozenset("/" + p for p in placeholders))] == diff
    layer = write_layer(ov.upper, daemon.content, placeholders=placeholders)
    assert [m[0] for m in _members(daemon.content.read(layer.digest))] == entries
    assert layer.empty == (entries == [])
    chain = chain_ids([BASE.diff_id, layer.diff_id])[1]
    snap, _ = asyncio.run(daemon.snapshots.adopt(chain, base, layer.diff_id, ov.upper, layer.files_size,
                                                 daemon.content.path(layer.digest), placeholders))
    assert write_layer(snap.fs, daemon.content).diff_id == layer.diff_id
    (tmp_path / "view").mkdir()
    with Overlay(tmp_path / "view", [snap.fs, lower]) as merged:
        tree = _tree(merged)
    # the directory the placeholders were in is the image's again (its mtime aside, which copy-up changed)
    assert {k: v for k, v in tree.items() if k != "etc"} == {k: v for k, v in expected.items() if k != "etc"}
