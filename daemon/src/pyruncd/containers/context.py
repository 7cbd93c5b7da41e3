"""What every container operation works with: the store, the runtime, the shims, and the other packages
the daemon gives the containers (images, snapshots, networks, volumes), each seen through the few
calls the containers make of it, so the unit tests can give fakes.
"""

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import NotFound
from ..volumes.mounts import MountPoint
from .logs import LogConfig, parse_log_opts
from .runtime import Runtime
from .shimapi import ShimFactory
from .store import Store
from .types import CreateOptions, Record


class Image(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def top_chain_id(self) -> str: ...


class ImageConfig(Protocol):
    @property
    def doc(self) -> dict[str, Any]: ...


class Lease(Protocol):
    def add(self, key: str) -> None: ...


class Leases(Protocol):
    def hold(self) -> AbstractContextManager[Lease]: ...


class Images(Protocol):
    @property
    def leases(self) -> Leases: ...
    def lookup(self, text: str) -> Image: ...
    def config(self, rec: Any) -> ImageConfig: ...


class Snapshot(Protocol):
    @property
    def chain_id(self) -> str: ...
    @property
    def fs(self) -> Path: ...


class Snapshots(Protocol):
    def chain(self, chain_id: str) -> Sequence[Snapshot]: ...
    def get(self, chain_id: str) -> Snapshot | None: ...


class Networks(Protocol):
    def validate(self, mode: str, o: CreateOptions, image_config: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...
    def allocate(self, rec: Record, etc: Path) -> None: ...
    def netns_path(self, rec: Record) -> str: ...
    async def attach_during(self, rec: Record, creating: Awaitable[int]) -> int: ...
    async def detach(self, cid: str) -> None: ...
    def release(self, cid: str) -> None: ...
    def inspect_parts(self, rec: Record) -> tuple[dict[str, Any], dict[str, Any]]: ...


class Volumes(Protocol):
    def place(self, mounts: list[MountPoint]) -> None: ...
    def attach(self, container_id: str, mounts: list[MountPoint]) -> None: ...
    def release_anonymous(self, mounts: list[MountPoint]) -> list[Path]: ...


@dataclass(kw_only=True)
class Context:
    store: Store
    runtime: Runtime
    shims: ShimFactory
    images: Images
    snapshots: Snapshots
    networks: Networks
    volumes: Volumes
    root: Path                      # --root/containers: one directory per container
    cgroup_parent: str = "/pyruncd"
    log_defaults: dict[str, str] = field(default_factory=dict)
    restarting: Callable[[str], bool] = lambda cid: False  # the restart policy's: waiting to start it again
    _leases: dict[str, contextlib.ExitStack] = field(default_factory=dict, init=False)

    def dir(self, cid: str) -> Path:
        return self.root / cid

    def log_path(self, cid: str) -> Path:
        return self.dir(cid) / f"{cid}-json.log"

    def log_config(self, rec: Record) -> LogConfig:
        """Its own, merged with the daemon's defaults at create; those defaults for a container older than that."""
        return rec.config.host.log or parse_log_opts({}, self.log_defaults)

    def get(self, text: str) -> Record:
        rec = self.store.get(self.store.resolve(text))
        if rec is None:
            raise NotFound(f"No such container: {text}")
        return rec

    def lowers(self, rec: Record) -> list[Path]:
        lowers = []
        for c in rec.config.chain_ids:
            snap = self.snapshots.get(c)
            if snap is None:
                raise NotFound(f"container {rec.id[:12]}: layer snapshot {c} is gone")
            lowers.append(snap.fs)
        return lowers

    # ---- each container's image stays while the container does

    def hold_lease(self, rec: Record) -> None:
        if rec.id in self._leases:
            return
        stack = contextlib.ExitStack()
        lease = stack.enter_context(self.images.leases.hold())
        for c in rec.config.chain_ids:
            lease.add(c)
        self._leases[rec.id] = stack

    def release_lease(self, cid: str) -> None:
        stack = self._leases.pop(cid, None)
        if stack is not None:
            stack.close()
