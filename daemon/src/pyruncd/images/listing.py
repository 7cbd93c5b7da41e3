"""List: the images, or as `docker images REPO[:TAG]...` only the rows (tags) of the repositories asked for."""

from collections.abc import Sequence

from .. import reference
from .store import ImageRecord, ImageStore


def list_images(store: ImageStore, references: Sequence[str] = ()) -> list[ImageRecord]:
    """Newest first; with `references`, each image keeps only its matching tags, and one left without is
    left out."""
    wanted = [reference.parse(r, default_tag="") for r in references]
    out = []
    for rec in store.images():
        if wanted:
            rec.tags = [t for t in rec.tags if any(
                (n := reference.parse(t)).repository == w.repository and (not w.tag or n.tag == w.tag)
                for w in wanted)]
            if not rec.tags:
                continue
        out.append(rec)
    return out
