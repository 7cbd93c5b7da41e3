"""Prune, as dockerd's ImagesPrune: the dangling images (untagged, no child), or with `all` every image not
used by a container, each deleted with its untagged parents (delete.py); then garbage collected.

A build's intermediate images (untagged, with a child) are never taken on their own: they go with the last
image of their chain, so `image prune` keeps the build cache of tagged images."""

from ..errors import Conflict, NotFound
from .delete import remove_image
from .remove import refuse_in_use
from .store import ImageStore, RemoveResult, UsingImage


def prune(store: ImageStore, *, all: bool, using_image: UsingImage) -> RemoveResult:
    """Images a container uses, even a stopped one, are kept, as docker keeps them and as rmi refuses them."""
    res = RemoveResult()
    parents = store.parents()
    for rec in store.images():
        if rec.id in parents and (not all or not (rec.tags or rec.repo_digests)):
            continue
        if rec.tags and not all:
            continue
        for text in rec.tags + rec.repo_digests or [rec.id]:
            try:
                refuse_in_use(store, text, using_image)
                done = remove_image(store, text, force=False, prune=True, using_image=using_image)
            except (Conflict, NotFound):  # in use, or deleted already with a child
                continue
            res.untagged.extend(done.untagged)
            res.deleted.extend(done.deleted)
    res.space_reclaimed = store.gc()
    return res
