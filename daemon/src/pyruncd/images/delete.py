"""Deleting an image as dockerd's ImageDelete does: untag, delete, then its untagged parents.

An image with children (the images a build step or a commit made from it) is never deleted: `rmi` of its
id is refused, even forced ("image has dependent child images"); `rmi` of its last name only untags it.
Deleting an image goes on with its parent, then the parent's parent..., while each is untagged, has no
other child and no container made from it, as dockerd prunes a build's intermediate images (`--no-prune`
stops it). Nothing here collects garbage: the caller runs `ImageStore.gc` once it is done.
"""

from collections.abc import Iterable

from .. import reference
from ..errors import Conflict, NotFound
from .store import ImageStore, RemoveResult, UsingImage


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


def _single_reference(names: list[str]) -> bool:
    """moby's isSingleReference: one name, or one tag and digests of that tag's repository only."""
    if len(names) <= 1:
        return len(names) == 1
    refs = [reference.parse(n) for n in names]
    tags = [r for r in refs if not r.digest]
    if len(tags) > 1:
        return False
    digest_repos = {r.repository for r in refs if r.digest}
    single = tags[0] if tags else refs[0]
    return digest_repos == {single.repository}


def _conflict(store: ImageStore, image_id: str, *, names: bool, users: bool, using_image: UsingImage) -> str:
    """Why the image cannot be deleted now ("" if it can): its children always, and `names` (tags or repo
    digests left) or `users` (containers made from it) when asked, as moby's checkImageDeleteConflict."""
    if store.children(image_id):
        return f"conflict: unable to delete {_short(image_id)} (cannot be forced) - image has dependent child images"
    if users and (containers := using_image(image_id)):
        return (f"conflict: unable to delete {_short(image_id)} (must be forced) - image is being used by"
                f" container {containers[0][:12]}")
    rec = store.get(image_id)
    if names and (rec.tags or rec.repo_digests):
        return (f"conflict: unable to delete {_short(image_id)} (must be forced) - image is referenced in multiple"
                " repositories")
    return ""


def _untag(store: ImageStore, name: str, res: RemoveResult) -> None:
    store.untag(name)
    res.untagged.append(name)


def remove_image(store: ImageStore, text: str, *, force: bool, prune: bool, using_image: UsingImage) -> RemoveResult:
    """`rmi TEXT`: by name, untag it (and the repository's digests when it was the repository's last tag),
    and delete the image if no name is left and it has no child; by id, delete it with its names (refused
    if names in several repositories are left, unless forced). `prune`: then its untagged parents."""
    res = RemoveResult()
    image_id, by_name = store.resolve_name(text)
    rec = store.get(image_id)
    names = rec.tags + rec.repo_digests
    if by_name is not None:
        _untag(store, str(by_name), res)
        left = [n for n in names if n != str(by_name)]
        if not by_name.digest and not any(
                not (r := reference.parse(n)).digest and r.repository == by_name.repository for n in left):
            for name in [n for n in left if reference.parse(n).repository == by_name.repository]:
                _untag(store, name, res)
                left.remove(name)
        if left:
            return res
    elif _single_reference(names):
        if message := _conflict(store, image_id, names=False, users=not force, using_image=using_image):
            raise Conflict(message)
        for name in names:
            _untag(store, name, res)
    _delete(store, image_id, res, force=force, prune=prune, quiet=by_name is not None, using_image=using_image)
    return res


def _delete(store: ImageStore, image_id: str, res: RemoveResult, *, force: bool, prune: bool, quiet: bool,
            using_image: UsingImage) -> None:
    """moby's imageDeleteHelper. `quiet`: a conflict ends it without an error (the image was untagged by
    name, or is a parent being pruned). Forced, only children stop it: a container keeps its own lease on
    the layers it runs on."""
    if message := _conflict(store, image_id, names=not force, users=not force, using_image=using_image):
        if quiet:
            return
        raise Conflict(message)
    rec = store.get(image_id)
    for name in rec.tags + rec.repo_digests:
        res.untagged.append(name)
    store.delete(image_id)
    res.deleted.append(image_id)
    if prune and rec.parent:
        _delete(store, rec.parent, res, force=False, prune=True, quiet=True, using_image=using_image)


def unkept(store: ImageStore, candidates: Iterable[str], using_image: UsingImage) -> list[str]:
    """Those of `candidates` that can go together: untagged, made into no container, and each child among
    them too; children first, so deleting them in this order never leaves a parent of a kept image."""
    children: dict[str, set[str]] = {}
    for child, parent in store.parent_links():
        children.setdefault(parent, set()).add(child)
    left = set()
    for image_id in dict.fromkeys(candidates):
        try:
            rec = store.get(image_id)
        except NotFound:
            continue
        if not (rec.tags or rec.repo_digests or using_image(image_id)):
            left.add(image_id)
    order: list[str] = []
    while ready := sorted(i for i in left if children.get(i, set()) <= set(order)):
        order.extend(ready)
        left.difference_update(ready)
    return order
