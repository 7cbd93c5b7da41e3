"""List: the images, or as `docker images REPO[:TAG]...` only the rows (tags) of the repositories asked for."""

from collections.abc import Sequence

from .. import reference
from .store import ImageRecord, ImageStore


def list_images(store: ImageStore, references: Sequence[str] = (), *, all: bool = False) -> list[ImageRecord]:
    """Newest first; with `references`, each image keeps only its matching tags, and one left without is
    left out. As docker's, an intermediate image (untagged, with a child: a build step's) is listed only
    with `all`."""
    wanted = [reference.parse(r, default_tag="") for r in references]
    parents = set() if all else store.parents()
    out = []
    for rec in store.images():
        if rec.id in parents and not rec.tags and not rec.repo_digests:
            continue
        if wanted:
            rec.tags = [t for t in rec.tags if any(
                (n := reference.parse(t)).repository == w.repository and (not w.tag or n.tag == w.tag)
                for w in wanted)]
            if not rec.tags:
                continue
        out.append(rec)
    return out
