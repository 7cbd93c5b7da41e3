"""Remove a volume: its record at once, its files (which may be large) in a worker thread."""

from ..threads import in_thread
from .store import VolumeStore, remove_dirs


async def remove(store: VolumeStore, name: str, *, force: bool) -> None:
    """-f only hides a missing volume: one in use is never removed, as docker."""
    d = store.remove(name, force=force)
    if d is not None:
        await in_thread(remove_dirs, [d])
