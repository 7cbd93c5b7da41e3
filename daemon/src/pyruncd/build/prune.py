"""`pyctl builder prune`: the build cache forgotten, and the step images that only it kept (untagged, no
container made from them) removed, then their blobs and snapshots collected. A tagged image, or a step
image a container uses, stays; so does everything a build in flight holds (its lease). The `RUN
--mount=type=cache` directories go too (but those a step is using)."""

from dataclasses import dataclass, field

from ..errors import NotFound
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
    for image_id in dict.fromkeys(named):
        try:
            record = images.get(image_id)
        except NotFound:
            continue
        if record.tags or record.repo_digests or using_image(image_id):
            continue
        images.delete(image_id)
        result.deleted.append(image_id)
    result.space_reclaimed = images.gc() + cache_mounts.prune()
    return result
