"""`pyctl builder prune`: the build cache forgotten, and the step images that only it kept removed (untagged,
no container made from them, no child but other such step images: images/delete.py's `unkept`), then their
blobs and snapshots collected. A tagged image, the step images below it (its parents), or a step image a
container uses, stay; so does everything a build in flight holds (its lease). The `RUN
--mount=type=cache` directories go too (but those a step is using)."""

from dataclasses import dataclass, field

from ..images.delete import unkept
from ..images.store import ImageStore, UsingImage
from .cache import BuildCache
from .cache_mounts import CacheMounts


@dataclass(kw_only=True)
class PruneResult:
    entries: int = 0
    deleted: list[str] = field(default_factory=list)
    space_reclaimed: int = 0


def prune_build_cache(images: ImageStore, cache: BuildCache, using_image: UsingImage,
                      cache_mounts: CacheMounts) -> PruneResult:
    named = cache.clear()
    result = PruneResult(entries=len(named))
    for image_id in unkept(images, named, using_image):
        images.delete(image_id)
        result.deleted.append(image_id)
    result.space_reclaimed = images.gc() + cache_mounts.prune()
    return result
