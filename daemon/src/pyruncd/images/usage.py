"""Disk usage of the images and of the build cache, as dockerd's `system df` counts them.

Images are those `images` lists (intermediate ones left out); a layer's size counts once in the total
(`layers_size`, every snapshot's), and in an image's `shared_size` when another listed image has it too.
A build cache entry's size is its step's own layer (none for a config step); it is `shared` when its image
is kept by another (tagged, a container's, or a parent of one): `builder prune` would not free it.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import NotFound
from .delete import unkept
from .listing import list_images
from .store import ImageRecord, ImageStore, UsingImage


@dataclass(frozen=True, kw_only=True)
class ImageUsage:
    image: ImageRecord
    shared_size: int
    containers: int


@dataclass(frozen=True, kw_only=True)
class CachedStep:
    """A build cache entry as the build cache gives it."""

    key: str
    image_id: str
    created: str


@dataclass(frozen=True, kw_only=True)
class StepUsage:
    step: CachedStep
    size: int
    shared: bool
    description: str  # the step's `created_by`


@dataclass(frozen=True, kw_only=True)
class ImagesUsage:
    layers_size: int
    images: list[ImageUsage]
    build_cache: list[StepUsage]


def _own_layer(store: ImageStore, rec: ImageRecord) -> int:
    """The size of the layer `rec` adds on its parent (0 for a config step or an image without parent)."""
    if not rec.parent or not rec.layers:
        return 0
    try:
        parent_layers = len(store.get(rec.parent).layers)
    except NotFound:
        return 0
    if len(rec.layers) <= parent_layers:
        return 0
    snapshot = store.snapshots.get(rec.top_chain_id)
    return snapshot.size if snapshot is not None else 0


def images_usage(store: ImageStore, using_image: UsingImage, cache: Sequence[CachedStep]) -> ImagesUsage:
    sizes = {s.chain_id: s.size for s in store.snapshots.all()}
    listed = list_images(store)
    refs = Counter(layer.chain_id for rec in listed for layer in rec.layers)
    images = [ImageUsage(image=rec, containers=len(using_image(rec.id)),
                         shared_size=sum(sizes.get(x.chain_id, 0) for x in rec.layers if refs[x.chain_id] > 1))
              for rec in listed]
    freed = set(unkept(store, [c.image_id for c in cache], using_image))
    steps = []
    for entry in cache:
        rec = store.get(entry.image_id)
        history = store.config(rec).history
        steps.append(StepUsage(step=entry, size=_own_layer(store, rec), shared=entry.image_id not in freed,
                               description=history[-1].get("created_by", "") if history else ""))
    return ImagesUsage(layers_size=sum(sizes.values()), images=images, build_cache=steps)
