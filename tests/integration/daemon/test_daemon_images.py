"""Image store, snapshots, docker-archive / OCI layout import and export, with real files and kernel."""

import asyncio
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from pyruncd.daemon import Config, Daemon
from pyruncd.errors import Conflict, DigestMismatch, InvalidArgument, NotFound, UnsafeLayer
from pyruncd.images import archive
from pyruncd.images.load import load as load_op
from pyruncd.images.manifest import host_platform
from pyruncd.images.prune import prune
from pyruncd.images.remove import remove
from pyruncd.images.save import save as save_op
from spec_fixtures import (
    Layer,
    busybox_image,
    busybox_layer,
    directory,
    file,
    make_image,
    opaque,
    symlink,
    whiteout,
    write_docker_archive,
    write_oci_layout,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="snapshots keep owners and whiteouts: root only")


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(Config(root=tmp_path / "root"))
    yield d
    d.close()


def load(d: Daemon, path: Path) -> list[str]:
    async def run():
        names = []
        with d.images.leases.hold() as lease:
            for s in archive.stage(path, d.content, host_platform(), lease):
                await d.images.unpack(s.manifest, s.config, lease)
                rec = d.images.add(s.manifest_digest, s.manifest, s.config, tags=s.tags, extra_blobs=s.extra_blobs)
                names.append(rec.id)
        return names
    return asyncio.run(run())


def save(d: Daemon, names: list[str], out: Path, oci: bool = False) -> None:
    exports = []
    for n in names:
        image_id, by_name = d.images.resolve_name(n)
        rec = d.images.get(image_id)
        data, m = d.images.manifest(rec)
        exports.append(archive.Export(rec.manifest_digest, data, m, d.images.config(rec), [by_name] if by_name else []))
    archive.save(exports, d.content, out, oci, d.tmp)


BASE = busybox_layer()
A = make_image([BASE, Layer.of([file("a", b"a")])])
B = make_image([BASE, Layer.of([file("b", b"b")], compression="zstd")])


def test_load_docker_archive_with_several_images_sharing_a_layer(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "two.tar"), {"one:latest": A, "two:v2": B, "one:also": A})
    ids = load(daemon, tmp_path / "two.tar")
    assert sorted(ids) == sorted([A.config_digest, B.config_digest])
    a = daemon.images.lookup("one")
    assert a.tags == ["docker.io/library/one:also", "docker.io/library/one:latest"]
    assert daemon.images.lookup("two:v2").id == B.config_digest
    # the busybox layer is unpacked once and shared: 3 snapshots for 4 layers
    snaps = daemon.snapshots.all()
    assert len(snaps) == 3
    assert a.layers[0].chain_id == daemon.images.lookup("two:v2").layers[0].chain_id
    assert (daemon.snapshots.get(a.layers[0].chain_id).fs / "bin" / "busybox").is_file()
    assert a.size == sum(s.size for s in daemon.snapshots.chain(a.top_chain_id))


def test_remove_untags_then_deletes_and_collects_garbage(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "two.tar"), {"one:latest": A, "one:also": A, "two:v2": B})
    load(daemon, tmp_path / "two.tar")
    res = remove(daemon.images, "one:also", force=False, prune=True, using_image=lambda _: [])
    assert res.untagged == ["docker.io/library/one:also"] and not res.deleted
    daemon.images.tag("one", "other/repo:x")
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        remove(daemon.images, A.config_digest[7:19], force=False, prune=True, using_image=lambda _: [])
    res = remove(daemon.images, A.config_digest[7:19], force=True, prune=True, using_image=lambda _: [])
    assert res.deleted == [A.config_digest] and res.space_reclaimed > 0
    assert len(daemon.snapshots.all()) == 2  # B keeps the shared base
    with pytest.raises(NotFound, match="No such image: one"):
        daemon.images.lookup("one")
    remove(daemon.images, "two:v2", force=False, prune=True, using_image=lambda _: [])
    assert daemon.snapshots.all() == [] and list(daemon.content.digests()) == []
    assert sorted(os.listdir(daemon.snapshots.root)) == ["tmp"]


def test_prune_removes_dangling_only(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "a.tar"), {"one:latest": A})
    write_docker_archive(str(tmp_path / "b.tar"), {"one:latest": B})
    load(daemon, tmp_path / "a.tar")
    load(daemon, tmp_path / "b.tar")  # takes the tag: A is dangling now
    assert daemon.images.get(A.config_digest).tags == []
    res = prune(daemon.images, all=False, using_image=lambda _: [])
    assert res.deleted == [A.config_digest]
    assert [r.id for r in daemon.images.images()] == [B.config_digest]


def test_prune_all_and_remove_spare_what_a_container_uses(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "two.tar"), {"one:latest": A, "two:v2": B})
    load(daemon, tmp_path / "two.tar")
    users = {A.config_digest: ["c" * 64]}
    with pytest.raises(Conflict, match=f"container {'c' * 12} is using its referenced image"):
        remove(daemon.images, "one", force=False, prune=True, using_image=lambda i: users.get(i, []))
    res = prune(daemon.images, all=True, using_image=lambda i: users.get(i, []))
    assert res.deleted == [B.config_digest] and res.untagged == ["docker.io/library/two:v2"]
    assert [r.id for r in daemon.images.images()] == [A.config_digest]


async def _chunks(path: Path, size: int = 4096):
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


async def _save_op(d: Daemon, names: list[str], out: Path, oci: bool) -> None:
    with open(out, "wb") as f:
        async for chunk in save_op(d.images, names, oci=oci, tmp=d.tmp):
            f.write(chunk)


def test_load_and_save_operations_stream_through_spools_they_remove(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "two.tar"), {"one:latest": A, "two:v2": B})
    loaded = asyncio.run(load_op(daemon.images, _chunks(tmp_path / "two.tar"), daemon.tmp))
    assert sorted(m for x in loaded for m in x.messages()) == ["Loaded image: one:latest", "Loaded image: two:v2"]
    asyncio.run(_save_op(daemon, ["one", B.config_digest], tmp_path / "out.tar", oci=False))
    assert os.listdir(daemon.tmp) == []
    with tarfile.open(tmp_path / "out.tar") as tf:
        assert [e["RepoTags"] for e in json.load(tf.extractfile("manifest.json"))] == [["one:latest"], []]
    d2 = Daemon(Config(root=tmp_path / "root2"))
    try:
        again = asyncio.run(load_op(d2.images, _chunks(tmp_path / "out.tar"), d2.tmp))
        assert [m for x in again for m in x.messages()] == ["Loaded image: one:latest",
                                                            f"Loaded image ID: {B.config_digest}"]
    finally:
        d2.close()
    (tmp_path / "empty").touch()
    with pytest.raises(InvalidArgument, match="empty input"):
        asyncio.run(load_op(daemon.images, _chunks(tmp_path / "empty"), daemon.tmp))
    with pytest.raises(InvalidArgument, match="give at least one image"):
        asyncio.run(_save_op(daemon, [], tmp_path / "none.tar", oci=True))
    assert os.listdir(daemon.tmp) == []


def test_save_round_trips_both_formats(daemon, tmp_path):
    write_docker_archive(str(tmp_path / "two.tar"), {"one:latest": A, "two:v2": B})
    load(daemon, tmp_path / "two.tar")
    save(daemon, ["one", "two:v2"], tmp_path / "out.tar")
    with tarfile.open(tmp_path / "out.tar") as tf:
        entries = json.load(tf.extractfile("manifest.json"))
        assert [e["RepoTags"] for e in entries] == [["one:latest"], ["two:v2"]]
        assert tf.getmember("oci-layout") and tf.getmember("index.json")
    d2 = Daemon(Config(root=tmp_path / "root2"))
    try:
        assert sorted(load(d2, tmp_path / "out.tar")) == sorted([A.config_digest, B.config_digest])
        assert d2.images.lookup("two:v2").id == B.config_digest
    finally:
        d2.close()
    save(daemon, ["one"], tmp_path / "oci.tar", oci=True)
    d3 = Daemon(Config(root=tmp_path / "root3"))
    try:
        load(d3, tmp_path / "oci.tar")
        rec = d3.images.lookup("one")
        assert rec.manifest_digest == daemon.images.lookup("one").manifest_digest  # stored bytes, verbatim
    finally:
        d3.close()


def test_oci_layout_index_picks_the_host_platform(daemon, tmp_path):
    img = busybox_image()
    write_oci_layout(str(tmp_path / "oci"), {"docker.io/library/multi:latest": img},
                     platforms=["linux/arm64", "linux/amd64" if str(host_platform()) == "linux/amd64" else
                                str(host_platform())])
    load(daemon, tmp_path / "oci")
    rec = daemon.images.lookup("multi")
    assert rec.architecture == host_platform().architecture
    assert len(daemon.images.get(rec.id).tags) == 1


def test_tampered_blob_is_rejected_and_nothing_recorded(daemon, tmp_path):
    refs = write_oci_layout(str(tmp_path / "oci"), {"docker.io/library/t:latest": A})
    assert refs
    blob = tmp_path / "oci" / "blobs" / "sha256" / A.layers[1].digest[7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        load(daemon, tmp_path / "oci")
    assert daemon.images.images() == []
    assert A.layers[1].digest not in set(daemon.content.digests())


def test_hostile_layer_is_refused_and_leaves_nothing(daemon, tmp_path):
    evil = make_image([BASE, Layer.of([symlink("x", "/"), file("x/tmp/pwned", b"!")])])
    write_docker_archive(str(tmp_path / "evil.tar"), {"evil:latest": evil})
    with pytest.raises(UnsafeLayer, match="symlink x -> / escapes the layer"):
        load(daemon, tmp_path / "evil.tar")
    assert not Path("/tmp/pwned").exists()
    assert daemon.images.images() == []
    assert os.listdir(daemon.snapshots.tmp) == []
    daemon.images.gc()
    assert daemon.snapshots.all() == [] and list(daemon.content.digests()) == []


def test_snapshot_chain_mounts_as_overlay_with_whiteouts_applied(daemon, tmp_path):
    lower = Layer.of([file("a", b"a"), file("b", b"b"), directory("d"), file("d/x", b"x"),
                      directory("tmp", mode=0o1777)])
    upper = Layer.of([whiteout("a"), opaque("d"), file("d/y", b"y"), file("tmp/new", b"n")])
    write_docker_archive(str(tmp_path / "img.tar"), {"ov:1": make_image([lower, upper])})
    load(daemon, tmp_path / "img.tar")
    rec = daemon.images.lookup("ov:1")
    lowers = ":".join(str(s.fs) for s in daemon.snapshots.chain(rec.top_chain_id))
    merged = tmp_path / "merged"
    merged.mkdir()
    r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowers}", str(merged)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"overlayfs cannot be mounted here: {r.stderr.strip()}")
    try:
        assert sorted(os.listdir(merged)) == ["b", "d", "tmp"]
        assert os.listdir(merged / "d") == ["y"]
        assert os.stat(merged / "tmp").st_mode & 0o7777 == 0o1777
        assert (merged / "tmp" / "new").read_bytes() == b"n"
    finally:
        subprocess.run(["umount", str(merged)], check=True)
