"""Image parents in the store: commit_image records them; listing, rmi, prune, history and `unkept` follow them
as dockerd does (images/delete.py). The images here are config steps on a loaded image (no layers of their
own), made with the same call a build step uses."""

import asyncio
import os

import pytest
from pyruncd.daemon import Config, Daemon
from pyruncd.errors import Conflict
from pyruncd.images.commit import HistoryEntry, NewImage, RunConfig, commit_image
from pyruncd.images.delete import unkept
from pyruncd.images.listing import list_images
from pyruncd.images.prune import prune
from pyruncd.images.remove import remove
from pyruncd.images.store import ImageRecord
from pyruncd.reference import parse
from spec_fixtures import busybox_image, write_docker_archive

from tests.integration.daemon.test_daemon_images import load

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="snapshots keep owners and whiteouts: root only")

NOBODY = lambda _: []  # noqa: E731  no container uses anything


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(Config(root=tmp_path / "root"))
    write_docker_archive(str(tmp_path / "base.tar"), {"base:latest": busybox_image()})
    load(d, tmp_path / "base.tar")
    yield d
    d.close()


def step(d: Daemon, parent: ImageRecord, name: str, tag: str = "") -> ImageRecord:
    created = "2024-01-01T00:00:00Z"
    new = NewImage(parent=parent, config=RunConfig(labels={"step": name}), created=created,
                   history=[HistoryEntry(created=created, created_by=name, empty_layer=True)],
                   tags=[parse(tag)] if tag else [])

    async def run():
        with d.images.leases.hold() as lease:
            return commit_image(d.images, new, lease)
    return asyncio.run(run())


def test_parents_are_recorded_and_intermediate_images_hidden(daemon):
    base = daemon.images.lookup("base")
    one = step(daemon, base, "one")
    two = step(daemon, one, "two", tag="app:1")
    assert (base.parent, one.parent, two.parent) == ("", base.id, one.id)
    assert [r.id for r in list_images(daemon.images)] == [two.id, base.id]
    assert {r.id for r in list_images(daemon.images, all=True)} == {two.id, one.id, base.id}
    assert [r.id for r in daemon.images.history("app:1")] == [two.id, one.id, base.id]
    # recorded again (a load of the same image), it keeps its parent
    data, manifest = daemon.images.manifest(two)
    daemon.images.add(two.manifest_digest, manifest, daemon.images.config(two))
    assert daemon.images.get(two.id).parent == one.id


def test_rmi_refuses_children_and_deletes_untagged_parents(daemon):
    base = daemon.images.lookup("base")
    one = step(daemon, base, "one")
    two = step(daemon, one, "two", tag="app:1")
    for force in (False, True):
        with pytest.raises(Conflict, match=r"\(cannot be forced\) - image has dependent child images"):
            remove(daemon.images, one.id, force=force, prune=True, using_image=NOBODY)
    assert unkept(daemon.images, [one.id, two.id], NOBODY) == []
    kept = remove(daemon.images, "base", force=False, prune=True, using_image=NOBODY)
    assert kept.untagged == ["docker.io/library/base:latest"] and kept.deleted == []
    daemon.images.tag(base.id, "base")
    res = remove(daemon.images, "app:1", force=False, prune=True, using_image=NOBODY)
    assert res.untagged == ["docker.io/library/app:1"] and res.deleted == [two.id, one.id]
    three = step(daemon, step(daemon, base, "x"), "y", tag="app:2")
    res = remove(daemon.images, "app:2", force=False, prune=False, using_image=NOBODY)
    assert res.deleted == [three.id]  # --no-prune: the parent stays, dangling now
    assert [r.id for r in list_images(daemon.images)][0] == three.parent


def test_prune_takes_dangling_chains_and_spares_a_tagged_images_steps(daemon):
    base = daemon.images.lookup("base")
    shared = step(daemon, base, "shared")
    kept = step(daemon, shared, "kept", tag="app:1")
    old = step(daemon, shared, "old")  # a rebuild moved the tag: the old last step is dangling
    users = {kept.id: ["c" * 64]}
    res = prune(daemon.images, all=False, using_image=lambda i: users.get(i, []))
    assert res.deleted == [old.id]
    assert {r.id for r in list_images(daemon.images, all=True)} == {base.id, shared.id, kept.id}
    assert unkept(daemon.images, [shared.id, kept.id], NOBODY) == []
    res = prune(daemon.images, all=True, using_image=lambda i: users.get(i, []))
    assert res.deleted == [] and res.untagged == ["docker.io/library/base:latest"]  # base has a child
    users.clear()
    res = prune(daemon.images, all=True, using_image=NOBODY)
    assert res.deleted == [kept.id, shared.id, base.id]
    assert daemon.images.images() == []
