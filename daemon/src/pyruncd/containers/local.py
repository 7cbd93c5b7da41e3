"""The containers' local service, as containerd's: one object the gRPC adapter (and the daemon's wiring)
holds, each method one operation of ops/. It builds the runtime, the policies subscribed to its bus,
and the context the operations share; the shims (shimapi.ShimFactory) and the other packages are given.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ..events import Event, EventBus
from ..fsutil import private_dir
from ..snapshots.changes import Change
from . import stats
from .context import Context, Images, Networks, Snapshots, Volumes
from .logs import Entry
from .ops import (
    attach,
    build_step,
    commit,
    cp,
    create,
    diff,
    exec,
    export,
    inspect,
    kill,
    logs,
    pause,
    prune,
    remove,
    restore,
    start,
    stop,
    top,
    update,
    wait,
)
from .ops import stats as stats_op
from .policies.health import HealthMonitors
from .policies.oom import OomPolicy
from .policies.restart import BACKOFF_START, Restarter
from .runtime import Oom, Runtime
from .shimapi import ShimFactory
from .store import Store
from .types import Chunk, CreateOptions, ExecOptions, ProcessExit, Record, ResourceFlags, Status

Changes = TypeVar("Changes")


class Containers:
    def __init__(self, *, store: Store, shims: ShimFactory, images: Images, snapshots: Snapshots,
                 networks: Networks, volumes: Volumes, root: Path, cgroup_parent: str = "/pyruncd",
                 log_defaults: dict[str, str] | None = None, restart_backoff: float = BACKOFF_START,
                 events: EventBus | None = None) -> None:
        """`root`: --root/containers. `restart_backoff`: the first restart's delay (doubled at each).
        `events`: the daemon's event stream."""
        self.runtime = Runtime(events)
        self.restarts = Restarter(self.runtime, store, lambda cid, wanted: start.start_again(self._ctx, cid, wanted),
                                  backoff_start=restart_backoff)
        self.health = HealthMonitors(self.runtime, store, lambda cid: exec.probe(self._ctx, cid))
        self.oom = OomPolicy(self.runtime, store)
        self._ctx = Context(store=store, runtime=self.runtime, shims=shims, images=images, snapshots=snapshots,
                            networks=networks, volumes=volumes, root=private_dir(root), cgroup_parent=cgroup_parent,
                            log_defaults=dict(log_defaults or {}), restarting=self.restarts.restarting)
        self._reconnects = restore.Reconnects(self._ctx)

    # ---- told by the shims (events.py)

    def oom_event(self, container_id: str) -> None:
        self.runtime.publish(Oom(container_id=container_id))

    # ---- lifecycle

    def create(self, o: CreateOptions) -> Record:
        return create.create(self._ctx, o)

    async def start(self, text: str) -> Record:
        return await start.start(self._ctx, text)

    async def stop(self, text: str, timeout: int | None = None) -> None:
        await stop.stop(self._ctx, text, timeout)

    async def restart(self, text: str, timeout: int | None = None) -> None:
        await stop.restart(self._ctx, text, timeout)

    async def kill(self, text: str, signal: str = "") -> None:
        await kill.kill(self._ctx, text, signal)

    async def pause(self, text: str) -> None:
        await pause.pause(self._ctx, text)

    async def unpause(self, text: str) -> None:
        await pause.unpause(self._ctx, text)

    async def wait(self, text: str) -> int:
        return await wait.wait(self._ctx, text)

    async def remove(self, text: str, force: bool = False, volumes: bool = False) -> None:
        await remove.remove(self._ctx, text, force, volumes)

    async def prune(self) -> tuple[list[str], int]:
        return await prune.prune(self._ctx)

    def rename(self, text: str, new_name: str) -> None:
        update.rename(self._ctx, text, new_name)

    async def update(self, text: str, flags: ResourceFlags, restart: str = "") -> None:
        await update.update(self._ctx, text, flags, restart)

    # ---- what they are

    def get(self, text: str) -> Record:
        return self._ctx.get(text)

    def records(self, all: bool) -> list[Record]:
        return inspect.records(self._ctx, all)

    def inspect(self, rec: Record) -> dict[str, Any]:
        return inspect.inspect_doc(self._ctx, rec, self.health.state)

    def counts(self) -> dict[Status, int]:
        return self._ctx.store.counts()

    def using_image(self, image_id: str) -> list[str]:
        """The containers made from this image: images' remove and prune keep it for them."""
        return self._ctx.store.using_image(image_id)

    async def stats(self, names: list[str]) -> list[tuple[Record, stats.Sample]]:
        return await stats_op.sample(self._ctx, names)

    async def top(self, text: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
        return await top.top(self._ctx, text, ps_args)

    def logs(self, text: str, follow: bool, tail: int, since: str) -> AsyncIterator[Entry]:
        return logs.logs(self._ctx, text, follow, tail, since)

    def events(self, *, since: float | None = None, until: float | None = None,
               filters: Sequence[str] = ()) -> "AsyncIterator[Event]":
        """The daemon's event stream (events.py), whose container events the runtime announces."""
        return self.runtime.events.stream(since=since, until=until, filters=filters)

    async def build_step(self, o: CreateOptions, *, on_start: Callable[[str], None], output: Callable[[Chunk], None],
                         take_changes: Callable[[Path], Awaitable[Changes]]) -> tuple[int, Changes | None]:
        """A build's RUN: a container for the while (see ops/build_step.py)."""
        return await build_step.build_step(self._ctx, o, on_start=on_start, output=output, take_changes=take_changes)

    # ---- processes' input and output

    def exec(self, text: str, o: ExecOptions,
             on_start: Callable[[str, str], None] | None = None) -> AsyncIterator[Chunk | ProcessExit]:
        return exec.exec(self._ctx, text, o, on_start)

    def attach(self, text: str, start: bool = False,
               after_start: Callable[[str], None] | None = None) -> AsyncIterator[Chunk | ProcessExit]:
        return attach.attach(self._ctx, text, start, after_start)

    async def write_stdin(self, cid: str, data: bytes, exec_id: str = "") -> None:
        await attach.write_stdin(self._ctx, cid, data, exec_id)

    async def close_stdin(self, cid: str, exec_id: str = "") -> None:
        await attach.close_stdin(self._ctx, cid, exec_id)

    async def resize(self, cid: str, width: int, height: int, exec_id: str = "") -> None:
        await attach.resize(self._ctx, cid, width, height, exec_id)

    def copy_from(self, text: str, path: str) -> AsyncIterator[bytes]:
        return cp.copy_from(self._ctx, text, path)

    async def copy_to(self, text: str, path: str, chunks: AsyncIterator[bytes]) -> None:
        await cp.copy_to(self._ctx, text, path, chunks)

    # ---- its files as images and tars

    async def commit(self, text: str, make: commit.MakeImage, pause: bool = True) -> str:
        return await commit.commit(self._ctx, text, make, pause)

    async def diff(self, text: str) -> list[Change]:
        return await diff.diff(self._ctx, text)

    def export(self, text: str) -> AsyncIterator[bytes]:
        return export.export(self._ctx, text)

    # ---- the daemon's start and stop

    def hold_leases(self) -> None:
        restore.hold_leases(self._ctx)

    async def restore(self) -> None:
        await restore.restore(self._ctx, self._reconnects)

    def close(self) -> None:
        self._reconnects.close()
        self.restarts.close()
        self.health.close()
        self.runtime.close()
