"""Remove (rmi): untag, or delete an image and its untagged parents (delete.py), then collect what they alone
kept."""

import logging

from ..errors import Conflict
from .delete import remove_image
from .store import ImageStore, RemoveResult, UsingImage

log = logging.getLogger("pyruncd.images")


def remove(store: ImageStore, text: str, *, force: bool, prune: bool, using_image: UsingImage) -> RemoveResult:
    if not force:
        refuse_in_use(store, text, using_image)
    res = remove_image(store, text, force=force, prune=prune, using_image=using_image)
    if res.deleted:
        res.space_reclaimed = store.gc()
    log.info("image removed", extra={"reference": text, "deleted": res.deleted})
    return res


def refuse_in_use(store: ImageStore, text: str, using_image: UsingImage) -> None:
    """As docker: removing the last name of (or the id of) an image a container uses needs -f."""
    image_id, by_name = store.resolve_name(text)
    users = using_image(image_id)
    rec = store.get(image_id)
    if users and (by_name is None or len(rec.tags) + len(rec.repo_digests) <= 1):
        raise Conflict(f'conflict: unable to remove repository reference "{text}" (must force) - container '
                       f"{users[0][:12]} is using its referenced image {image_id.removeprefix('sha256:')[:12]}")
