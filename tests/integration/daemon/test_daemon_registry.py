"""Pull and push against Debian's docker-registry on 127.0.0.1 (library level, no server)."""

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from pyruncd import reference
from pyruncd.daemon import Config, Daemon
from pyruncd.errors import AuthError, DigestMismatch, NotFound
from pyruncd.images import archive
from pyruncd.images.manifest import Platform, host_platform
from pyruncd.images.pull import pull
from pyruncd.images.push import push
from pyruncd.registry.credentials import Credentials
from spec_fixtures import Layer, busybox_layer, file, make_image, write_oci_layout

from tests.harness import registry
from tests.harness.registry import Registry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="snapshots keep owners and whiteouts: root only"),
    pytest.mark.skipif(bool(registry.available()), reason=registry.available() or "ok"),
]

IMG = make_image([busybox_layer(), Layer.of([file("one", b"1" * 100000)]), Layer.of([file("two", b"2")])])


@pytest.fixture
def reg():
    with Registry() as r:
        yield r


@pytest.fixture
def daemons(tmp_path):
    made = []

    def make(name: str) -> Daemon:
        made.append(Daemon(Config(root=tmp_path / name)))
        return made[-1]
    yield make
    for d in made:
        d.close()


def _load_oci(d: Daemon, tmp: Path, name: str):
    write_oci_layout(str(tmp / "oci"), {name: IMG})

    async def run():
        with d.images.leases.hold() as lease:
            for s in archive.stage(tmp / "oci", d.content, host_platform(), lease):
                await d.images.unpack(s.manifest, s.config, lease)
                d.images.add(s.manifest_digest, s.manifest, s.config, tags=s.tags)
    asyncio.run(run())


def _push(d, ref, creds=None):
    events = []
    digest = asyncio.run(push(d.images, reference.parse(ref), creds, set(), events.append))
    return digest, events


def _pull(d, ref, creds=None, platform=None):
    events = []
    rec = asyncio.run(pull(d.images, reference.parse(ref), platform or host_platform(), creds, set(), events.append))
    return rec, events


def test_push_then_pull_round_trips_digests(reg, daemons, tmp_path):
    a, b = daemons("a"), daemons("b")
    ref = f"{reg.host}/lib/app:v1"
    _load_oci(a, tmp_path, ref)
    digest, events = _push(a, ref)
    assert digest == IMG.manifest_digest
    assert sum(e.status == "Pushed" for e in events) == 3
    rec, events = _pull(b, ref)
    assert rec.id == IMG.config_digest and rec.manifest_digest == IMG.manifest_digest
    assert rec.repo_digests == [f"{reg.host}/lib/app@{IMG.manifest_digest}"]
    assert [x.digest for x in rec.layers] == [x.digest for x in IMG.layers]
    assert events[-1].status == f"Status: Downloaded newer image for {reg.host}/lib/app:v1"
    # again: every blob is there, nothing is fetched
    _, events = _pull(b, ref)
    assert not [e for e in events if e.status == "Download complete"]
    assert events[-1].status.startswith("Status: Image is up to date")
    # pushing again skips every blob; to another repository, they are mounted across
    _, events = _push(a, ref)
    assert sum(e.status == "Layer already exists" for e in events) == 3
    a.images.tag(ref, f"{reg.host}/other/app:v1")
    _, events = _push(a, f"{reg.host}/other/app:v1")
    assert sum(e.status == "Mounted from lib/app" for e in events) == 3


def _registry_blob(reg: Registry, digest: str) -> Path:
    hexpart = digest.split(":")[1]
    return reg.dir / "storage/docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


def test_bad_blob_is_rejected_no_image_and_retry_completes(reg, daemons, tmp_path):
    a, b = daemons("a"), daemons("b")
    ref = f"{reg.host}/lib/app:v1"
    _load_oci(a, tmp_path, ref)
    _push(a, ref)
    path = _registry_blob(reg, IMG.layers[1].digest)
    good = path.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    path.write_bytes(bytes(bad))
    with pytest.raises(DigestMismatch, match=IMG.layers[1].digest):
        _pull(b, ref)
    assert b.images.images() == []
    assert IMG.layers[1].digest not in set(b.content.digests())
    path.write_bytes(good)
    rec, events = _pull(b, ref)
    assert rec.id == IMG.config_digest
    fetched = {e.id for e in events if e.status == "Download complete"}
    assert IMG.layers[1].digest[7:19] in fetched


def test_index_yields_the_asked_platform(reg, daemons, tmp_path):
    a = daemons("a")
    ref = f"{reg.host}/multi:latest"
    write_oci_layout(str(tmp_path / "oci"), {"latest": IMG}, platforms=["linux/amd64", "linux/arm64"])
    subprocess.run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest",
                    f"docker://{ref}"], check=True, capture_output=True)
    rec, _ = _pull(a, ref, platform=Platform("linux", "arm64"))
    assert rec.architecture == "arm64"
    rec2, _ = _pull(a, ref, platform=Platform("linux", "amd64"))
    assert rec2.architecture == "amd64" and rec2.id != rec.id
    assert len(rec2.repo_digests) == 1


def test_unknown_manifest_is_not_found(reg, daemons):
    with pytest.raises(NotFound, match="manifest unknown"):
        _pull(daemons("a"), f"{reg.host}/nothere:latest")


@pytest.mark.skipif(bool(registry.available(users=True)), reason=registry.available(users=True) or "ok")
def test_basic_auth(daemons, tmp_path):
    with Registry(users={"alice": "s3cret"}) as reg:
        a = daemons("a")
        ref = f"{reg.host}/lib/app:v1"
        _load_oci(a, tmp_path, ref)
        with pytest.raises(AuthError, match="^no basic auth credentials$"):
            _push(a, ref)
        with pytest.raises(AuthError, match="authentication failed"):
            _push(a, ref, Credentials("alice", "wrong"))
        digest, _ = _push(a, ref, Credentials("alice", "s3cret"))
        b = daemons("b")
        rec, _ = _pull(b, ref, Credentials("alice", "s3cret"))
        assert rec.manifest_digest == digest


def test_concurrent_pulls_of_one_image_share_the_work(reg, daemons, tmp_path):
    a, b = daemons("a"), daemons("b")
    ref = f"{reg.host}/lib/app:v1"
    _load_oci(a, tmp_path, ref)
    _push(a, ref)

    async def both():
        r = reference.parse(ref)
        return await asyncio.gather(*(pull(b.images, r, host_platform(), None, set(), lambda e: None)
                                      for _ in range(2)))
    r1, r2 = asyncio.run(both())
    assert r1.id == r2.id == IMG.config_digest
    assert len(b.snapshots.all()) == len(IMG.layers)
    assert sorted(b.content.digests()) == sorted({IMG.manifest_digest, IMG.config_digest,
                                                  *(x.digest for x in IMG.layers)})
