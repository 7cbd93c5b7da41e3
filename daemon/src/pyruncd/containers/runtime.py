"""The containers' in-memory side: live shims and their output, per-container locks, exit futures, the
lifecycle event bus and `pyctl events`' subscribers. The database holds what a container is; this
holds what only exists while pyruncd runs.

Lifecycle events are delivered at once, in the order subscribers came, on the loop: the policies
(policies/) act on them, and may change the record before it is saved (Exiting) or save it (Exited).
"""

import asyncio
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import Conflict
from ..events import EventBus
from .fifo import FifoReader, Outlet
from .logs import LogFile
from .shimapi import ShimClient
from .types import Record


@dataclass(kw_only=True)
class Live:
    """A started container's in-memory side: its shim, its output readers."""
    shim: ShimClient
    log: LogFile
    readers: list[FifoReader] = field(default_factory=list)
    stdin_fd: int = -1  # our end of the stdin FIFO; closing it and CloseIO end the process's stdin

    def close_output(self, drain: bool = True) -> None:
        """After the exit `drain` what is left in the pipes; at shutdown leave it for the next pyruncd."""
        for r in self.readers:
            r.close(drain)
        self.log.close()
        if self.stdin_fd >= 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1


# ---- lifecycle events: what the policies subscribe to

@dataclass(frozen=True, kw_only=True)
class StartRequested:
    """`start`/`run` by hand, before the start (the record's RunState is then begun again)."""
    record: Record


@dataclass(frozen=True, kw_only=True)
class Started:
    """Any start: by hand, by a policy, or reconnected after a daemon restart; the record is saved."""
    record: Record


@dataclass(frozen=True, kw_only=True)
class Oom:
    """The kernel's OOM killer acted in the container (the shim's /tasks/oom); its exit follows."""
    container_id: str


@dataclass(frozen=True, kw_only=True)
class Exiting:
    """The task exited; the record is about to be saved (subscribers may fill in its RunState)."""
    record: Record


@dataclass(frozen=True, kw_only=True)
class Exited:
    """The exit is saved and told."""
    record: Record


@dataclass(frozen=True, kw_only=True)
class Stopping:
    """`stop` (and so `restart`), under the container's lock: no policy restart until a start by hand."""
    record: Record
    running: bool


@dataclass(frozen=True, kw_only=True)
class Removing:
    """`rm` of a stopped container, or `rm -f`, under the container's lock."""
    record: Record
    running: bool


Lifecycle = StartRequested | Started | Oom | Exiting | Exited | Stopping | Removing
Subscriber = Callable[[Lifecycle], None]


class Runtime:
    def __init__(self, events: EventBus | None = None) -> None:
        """`events`: the daemon's event stream, which `announce` publishes to."""
        self.events = events or EventBus()
        self._live: dict[str, Live] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, list[asyncio.Future[int]]] = {}
        self._attached: dict[str, set[Outlet]] = {}
        self._exec_stdin: dict[tuple[str, str], int] = {}
        self._subscribers: list[Subscriber] = []
        self._reconnecting: set[str] = set()
        self.reconnected = asyncio.Event()  # the first reconnect pass after start is over
        self._background: set[asyncio.Future[Any]] = set()

    # ---- live containers

    def lock(self, cid: str) -> asyncio.Lock:
        return self._locks.setdefault(cid, asyncio.Lock())

    def known(self, cid: str) -> bool:
        """Seen by this daemon (even if removed since)."""
        return cid in self._locks

    def live(self, cid: str) -> Live | None:
        return self._live.get(cid)

    def add_live(self, cid: str, live: Live) -> None:
        self._live[cid] = live

    def drop_live(self, cid: str) -> None:
        self._live.pop(cid, None)

    def running(self, rec: Record) -> Live:
        """The live side of a running or paused container, or the Conflict docker answers."""
        self.check_reachable(rec.id)
        live = self._live.get(rec.id)
        if live is None or not rec.live:
            raise Conflict(f"Container {rec.id} is not running")
        return live

    def close(self) -> None:
        """At daemon stop: containers run on; what their pipes hold waits for the next pyruncd."""
        for live in self._live.values():
            live.close_output(drain=False)

    def in_background(self, work: Awaitable[Any]) -> None:
        """Clean-up nobody waits for (a removed container's files): kept until done; asyncio.run's end
        lets the threads it runs in finish."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- reconnecting after a daemon restart

    def reconnecting(self, cid: str, yes: bool) -> None:
        (self._reconnecting.add if yes else self._reconnecting.discard)(cid)

    def check_reachable(self, cid: str) -> None:
        """Refuse an operation on a container whose shim has not answered yet."""
        if cid in self._reconnecting:
            raise Conflict(f"container {cid[:12]}: its shim has not answered since pyruncd restarted; "
                           "reconnecting, try again later")

    async def ready(self) -> None:
        """Operations on containers wait for the first reconnect pass after a restart (at most a few seconds)."""
        await self.reconnected.wait()

    # ---- exits

    def exit_future(self, cid: str) -> "asyncio.Future[int]":
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(cid, []).append(fut)
        return fut

    def notify_exit(self, cid: str, code: int) -> None:
        for fut in self._waiters.pop(cid, []):
            if not fut.done():
                fut.set_result(code)
        for q in self._attached.pop(cid, set()):
            q.put_nowait(None)

    # ---- attach: raw (stream, bytes) chunks of the container's output

    def attach_queue(self, cid: str) -> Outlet:
        q = Outlet()
        self._attached.setdefault(cid, set()).add(q)
        return q

    def detach_queue(self, cid: str, q: Outlet) -> None:
        self._attached.get(cid, set()).discard(q)
        q.release()

    def output(self, cid: str, live: Live, stream: str, data: bytes) -> None:
        for q in self._attached.get(cid, ()):
            q.push((stream, data), live.readers)

    # ---- exec processes' stdin

    def set_exec_stdin(self, cid: str, exec_id: str, fd: int) -> None:
        self._exec_stdin[(cid, exec_id)] = fd

    def take_exec_stdin(self, cid: str, exec_id: str) -> int:
        """Our end of an exec's stdin FIFO, no longer ours to keep; -1 when it has none (or it is closed)."""
        return self._exec_stdin.pop((cid, exec_id), -1)

    def stdin_fd(self, cid: str, exec_id: str) -> int:
        live = self._live.get(cid)
        fd = self._exec_stdin.get((cid, exec_id), -1) if exec_id else (live.stdin_fd if live else -1)
        if fd < 0:
            raise Conflict(f"container {cid[:12]}: the process has no stdin (run it with -i)")
        return fd

    # ---- the bus

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def publish(self, event: Lifecycle) -> None:
        for s in self._subscribers:
            s(event)

    def announce(self, action: str, rec: Record, **attrs: str) -> None:
        """A container event on the daemon's stream; a start mounts its volumes first and an exit
        unmounts them after, as dockerd tells."""
        if action == "start":
            self._volume_events("mount", rec)
        self.events.emit("container", action, rec.id, image=rec.image, name=rec.name, **attrs)
        if action == "die":
            self._volume_events("unmount", rec)

    def _volume_events(self, action: str, rec: Record) -> None:
        for m in rec.config.mounts:
            if m.type == "volume":
                extra = ({"destination": m.destination, "propagation": m.propagation, "read/write": str(m.rw).lower()}
                         if action == "mount" else {})
                self.events.emit("volume", action, m.name, container=rec.id, driver="local", **extra)
