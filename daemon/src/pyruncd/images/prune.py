"""Prune: remove dangling images (every unused one with `all`), then collect garbage."""

from .store import ImageStore, RemoveResult, UsingImage


def prune(store: ImageStore, *, all: bool, using_image: UsingImage) -> RemoveResult:
    """Images a container uses, even a stopped one, are kept, as docker keeps them and as rmi refuses them."""
    res = RemoveResult()
    for rec in store.images():
        if (rec.tags and not all) or using_image(rec.id):
            continue
        store.delete(rec.id)
        res.untagged.extend(rec.tags + rec.repo_digests)
        res.deleted.append(rec.id)
    res.space_reclaimed = store.gc()
    return res
