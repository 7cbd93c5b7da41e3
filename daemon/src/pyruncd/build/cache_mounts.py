"""The directories of `RUN --mount=type=cache` (BuildKit's cache mounts): one per id (the target when no
id is given), kept by the daemon under its root across builds, never part of a layer; `pyctl builder
prune` removes them.

A new directory is made with the mount's uid, gid and mode (BuildKit's defaults: 0, 0, 0755), seeded
with the `from`/`source` content when given, and renamed into place whole. Sharing as BuildKit's:
`shared` (the default) lets concurrent steps use it together, `locked` makes a step wait for the one
using it, `private` gives a step a fresh directory when the shared one is in use (that one is discarded
after the step, where BuildKit keeps it as a further instance).

What a container writes there is data, never followed by the daemon: the directory is only bind-mounted
and, at prune, removed without following links.
"""

import asyncio
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from ..fsutil import du, private_dir
from ..threads import in_thread
from .mounts import Mount, Sharing

DEFAULT_MODE = 0o755


def _make(path: Path, mount: Mount, seed: Path | None) -> None:
    """The directory `path`, made whole: in a temporary sibling, then renamed."""
    fresh = Path(tempfile.mkdtemp(dir=path.parent, prefix=".new-"))
    try:
        if seed is not None and seed.is_dir():
            shutil.copytree(seed, fresh, symlinks=True, dirs_exist_ok=True)
        os.chown(fresh, mount.uid or 0, mount.gid or 0)
        os.chmod(fresh, DEFAULT_MODE if mount.mode is None else mount.mode)
        os.rename(fresh, path)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


class CacheMounts:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    def _path(self, cache_id: str) -> Path:
        return self.root / hashlib.sha256(cache_id.encode()).hexdigest()

    @contextlib.asynccontextmanager
    async def use(self, mount: Mount, *, seed: Path | None, scratch: Path) -> AsyncIterator[Path]:
        """The host directory to bind at the mount's target, for the while of one RUN."""
        cache_id = mount.cache_id or mount.target
        sharing = mount.sharing or Sharing.SHARED
        async with contextlib.AsyncExitStack() as stack:
            if sharing is Sharing.LOCKED:
                await stack.enter_async_context(self._locks.setdefault(cache_id, asyncio.Lock()))
            if sharing is Sharing.PRIVATE and self._users[cache_id]:
                path = Path(tempfile.mkdtemp(dir=scratch, prefix="cache-")) / "dir"
                await in_thread(_make, path, mount, seed)
                yield path
                return
            private_dir(self.root)
            path = self._path(cache_id)
            self._users[cache_id] += 1
            try:
                if not path.is_dir():
                    await in_thread(_make, path, mount, seed)
                yield path
            finally:
                self._users[cache_id] -= 1

    def prune(self) -> int:
        """Every cache directory no step uses removed (blocking); the bytes they held."""
        if not self.root.is_dir():
            return 0
        busy = {self._path(cache_id).name for cache_id, users in self._users.items() if users}
        freed = 0
        for entry in self.root.iterdir():
            if entry.name in busy:
                continue
            freed += du(entry)
            shutil.rmtree(entry, ignore_errors=True)
        return freed
