"""The containers' local service over fakes (fakeshim.FakeShims, and in-memory images, snapshots, networks
and volumes): what the lifecycle tests build on. Nothing here needs root or touches the kernel."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyruncd import db
from pyruncd.containers.local import Containers
from pyruncd.containers.store import Store
from pyruncd.containers.types import CreateOptions, HostFlags, Record

from tests.unit.daemon.fakeshim import FakeShims


@dataclass
class FakeSnapshot:
    chain_id: str
    fs: Path


class FakeLease:
    def __init__(self, held: set[str]) -> None:
        self.held = held

    def add(self, key: str) -> None:
        self.held.add(key)


class FakeLeases:
    def __init__(self) -> None:
        self.held: set[str] = set()

    @contextlib.contextmanager
    def hold(self) -> Iterator[FakeLease]:
        yield FakeLease(self.held)


@dataclass
class FakeImage:
    id: str = "sha256:" + "1" * 64
    top_chain_id: str = "sha256:" + "2" * 64


@dataclass
class FakeImageConfig:
    doc: dict[str, Any]


class FakeImages:
    def __init__(self) -> None:
        self.leases = FakeLeases()
        self.doc: dict[str, Any] = {"config": {"Cmd": ["sleep", "1000"], "Env": ["PATH=/bin"]}}

    def lookup(self, text: str) -> FakeImage:
        return FakeImage()

    def config(self, rec: Any) -> FakeImageConfig:
        return FakeImageConfig(self.doc)


class FakeSnapshots:
    def __init__(self, root: Path) -> None:
        self.snap = FakeSnapshot(FakeImage().top_chain_id, root / "layer")
        (self.snap.fs / "etc").mkdir(parents=True)
        (self.snap.fs / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")

    def chain(self, chain_id: str) -> list[FakeSnapshot]:
        return [self.snap]

    def get(self, chain_id: str) -> FakeSnapshot | None:
        return self.snap if chain_id == self.snap.chain_id else None


class FakeNetworks:
    def __init__(self) -> None:
        self.attached: set[str] = set()

    def validate(self, mode: str, o: Any, image_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "none", {}

    def allocate(self, rec: Record, etc: Path) -> None:
        etc.mkdir(parents=True, exist_ok=True)

    def netns_path(self, rec: Record) -> str:
        return ""

    async def attach_during(self, rec: Record, creating: Awaitable[int]) -> int:
        pid = await creating
        self.attached.add(rec.id)
        return pid

    async def detach(self, cid: str) -> None:
        self.attached.discard(cid)

    def release(self, cid: str) -> None:
        pass

    def inspect_parts(self, rec: Record) -> tuple[dict[str, Any], dict[str, Any]]:
        return {}, {}


class FakeVolumes:
    def place(self, mounts: list[Any]) -> None:
        pass

    def attach(self, container_id: str, mounts: list[Any]) -> None:
        pass

    def release_anonymous(self, mounts: list[Any]) -> list[Path]:
        return []


@dataclass
class Rig:
    containers: Containers
    shims: FakeShims
    networks: FakeNetworks

    def create(self, **host: Any) -> Record:
        auto_remove = host.pop("auto_remove", False)
        return self.containers.create(CreateOptions(image="busybox", host=HostFlags(**host), auto_remove=auto_remove))

    async def run(self, **host: Any) -> Record:
        rec = self.create(**host)
        await self.containers.start(rec.id)
        return self.containers.get(rec.id)


async def rig(tmp_path: Path, restart_backoff: float = 0.001) -> Rig:
    """A fresh local service over fakes, restored (as at the daemon's start) so operations may begin."""
    shims, networks = FakeShims(), FakeNetworks()
    c = Containers(store=Store(db.connect(tmp_path / "meta.db")), shims=shims, images=FakeImages(),
                   snapshots=FakeSnapshots(tmp_path), networks=networks, volumes=FakeVolumes(),
                   root=tmp_path / "containers", cgroup_parent="/pyruncd-test", restart_backoff=restart_backoff)
    shims.on_oom = c.oom_event
    await c.restore()
    return Rig(c, shims, networks)


async def until(what: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll on the loop until `what()` holds (the lifecycle runs in tasks of its own)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not what():
        if loop.time() > end:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.001)
