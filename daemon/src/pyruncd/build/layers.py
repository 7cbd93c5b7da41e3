"""A build step's result as an image: its changes (a directory in overlay upper form, or none) made a
layer through the layers API (snapshots/diff.py, Snapshotter.adopt), then an image on its parent
(images/commit.py). Every blob and snapshot is held by the build's lease until an image names it.

As docker's classic builder, a step that changed nothing gets an `empty_layer` history entry and no layer.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ..fsutil import private_dir
from ..images.commit import HistoryEntry, NewImage, commit_image
from ..images.manifest import chain_ids
from ..images.store import ImageRecord, ImageStore, Lease
from ..overlay import mounted
from ..snapshots.diff import LayerBlob, write_layer
from ..threads import in_thread
from .config_steps import StageConfig


def has_changes(upper: Path) -> bool:
    with os.scandir(upper) as entries:
        return any(True for _ in entries)


async def make_layer(images: ImageStore, lease: Lease, parent: ImageRecord | None, upper: Path) -> LayerBlob:
    """`upper` as a layer on `parent` (or on nothing), with its snapshot; `upper` is given up (moved)."""
    blob = await in_thread(lambda: write_layer(upper, images.content, hold=lease.add))
    parent_diff_ids = [] if parent is None else images.config(parent).diff_ids
    chain = chain_ids([*parent_diff_ids, blob.diff_id])[-1]
    lease.add(chain)
    await images.snapshots.adopt(chain, parent.top_chain_id if parent else "", blob.diff_id, upper,
                                 blob.files_size, images.content.path(blob.digest))
    return blob


async def commit_step(images: ImageStore, lease: Lease, *, parent: ImageRecord | None, config: StageConfig,
                      created_by: str, created: str, changes: Path | None = None) -> ImageRecord:
    """The image after one step: `changes` (an upper dir, or None) as its layer, `created_by` its history."""
    layers = []
    if changes is not None and has_changes(changes):
        layers.append(await make_layer(images, lease, parent, changes))
    history = HistoryEntry(created=created, created_by=created_by, empty_layer=not layers)
    new = NewImage(parent=parent, layers=layers, history=[history], config=config.run, created=created,
                   author=config.author)
    return commit_image(images, new, lease)


def lowers_of(images: ImageStore, image: ImageRecord | None) -> list[Path]:
    """The image's snapshots, top first (overlay's lowerdir order); none for scratch."""
    return [snapshot.fs for snapshot in images.snapshots.chain(image.top_chain_id)] if image else []


@contextlib.contextmanager
def writable_rootfs(lowers: list[Path], work: Path) -> Iterator[tuple[Path, Path]]:
    """(the root file system of `lowers` mounted with a fresh upper dir, that upper dir): what a step that
    writes files (COPY, ADD, WORKDIR) changes, as a container's rootfs, without starting anything.
    Blocking (run it in a thread); `work` is a new directory the build's scratch removal takes."""
    private_dir(work)
    upper, overlay_work, target, empty = work / "upper", work / "work", work / "rootfs", work / "empty"
    for directory in (upper, overlay_work, empty):
        directory.mkdir()
    with mounted(lowers or [empty], upper, overlay_work, target, "the build step's root file system"):
        yield target, upper
