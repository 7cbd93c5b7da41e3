"""Prune: unused anonymous volumes, or every unused one with `all` (docker 23+'s prune and prune -a)."""

from collections.abc import Sequence
from dataclasses import dataclass

from ..threads import in_thread
from .store import VolumeStore, remove_dirs


@dataclass(frozen=True, kw_only=True)
class Pruned:
    deleted: list[str]
    space_reclaimed: int


async def prune(store: VolumeStore, *, all: bool, filters: Sequence[tuple[str, str]] = ()) -> Pruned:
    names, dirs = store.prune(all, filters)
    pruned = Pruned(deleted=names, space_reclaimed=await in_thread(remove_dirs, dirs))
    store.events.emit("volume", "prune", "", reclaimed=str(pruned.space_reclaimed))
    return pruned
