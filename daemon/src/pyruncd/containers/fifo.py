"""A container's output FIFOs read on the event loop, a bounded amount at a time.

A container may write as fast as it can. Each wake-up reads at most READ_PER_WAKE bytes and hands
them on, then returns to the loop, so every other request and container gets its turn; what we do
not read waits in the pipe, and once the pipe is full the container blocks on its write (the
back-pressure dockerd and containerd apply). Consumers that cannot keep up (an attach or exec
client) `hold` the readers that feed them, and reading resumes when they have caught up: memory
stays bounded whatever the rate.
"""

import asyncio
import os
from collections.abc import Callable, Iterable
from pathlib import Path

READ_PER_WAKE = 16384   # at most ~10 ms of log encoding per wake-up for the densest output ("x\n")
DRAIN_LIMIT = 1 << 20   # after an exit: what can still be in the pipe (F_SETPIPE_SZ's unprivileged maximum)


class FifoReader:
    """Reads a FIFO on the event loop and hands each chunk to `sink`."""

    def __init__(self, path: Path, sink: Callable[[bytes], None]):
        self.path = path
        self.sink = sink
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        self._holds: set[object] = set()
        self._watching = False
        self._watch()

    def _watch(self) -> None:
        if not self._watching and not self._holds and self.fd >= 0:
            asyncio.get_running_loop().add_reader(self.fd, self._ready)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            asyncio.get_running_loop().remove_reader(self.fd)
            self._watching = False

    def hold(self, who: object) -> None:
        """Stop reading until every holder has released: the writer blocks once the pipe is full."""
        self._holds.add(who)
        self._unwatch()

    def release(self, who: object) -> None:
        self._holds.discard(who)
        self._watch()

    def _ready(self) -> None:
        try:
            data = os.read(self.fd, READ_PER_WAKE)
        except BlockingIOError:
            return
        if not data:  # every writer left (the shim keeps one, so only when it is gone): nothing more comes
            self.hold(self)
            return
        self.sink(data)

    def drain(self, limit: int = DRAIN_LIMIT) -> None:
        """Take what is in the pipe now (after an exit), up to `limit` bytes, whatever the holds."""
        while self.fd >= 0 and limit > 0:
            try:
                data = os.read(self.fd, min(READ_PER_WAKE, limit))
            except BlockingIOError:
                return
            if not data:
                return
            limit -= len(data)
            self.sink(data)

    def close(self, drain: bool = True) -> None:
        """Stop reading; with `drain`, take what is in the pipe first. Without, it waits there for the
        next pyruncd (the shim's end keeps the FIFO open)."""
        if self.fd < 0:
            return
        if drain:
            self.drain()
        self._unwatch()
        os.close(self.fd)
        self.fd = -1


class Outlet(asyncio.Queue[tuple[str, bytes] | None]):
    """One consumer's queue of output chunks (attach, exec): (stream, data), None when the process is
    gone (attach). Past HIGH chunks it holds the readers that
    feed it until the consumer is down to LOW: a slow client slows the process, as docker attach does."""

    HIGH = 64   # chunks of at most READ_PER_WAKE: 1 MiB
    LOW = 16

    def __init__(self) -> None:
        super().__init__()
        self._held: list[FifoReader] = []

    def push(self, item: tuple[str, bytes], readers: Iterable[FifoReader]) -> None:
        self.put_nowait(item)
        if self.qsize() >= self.HIGH and not self._held:
            self._held = list(readers)
            for r in self._held:
                r.hold(self)

    async def get(self) -> tuple[str, bytes] | None:
        item = await super().get()
        if self._held and self.qsize() <= self.LOW:
            self.release()
        return item

    def release(self) -> None:
        """Also when the consumer leaves: nothing it held stays held."""
        held, self._held = self._held, []
        for r in held:
            r.release(self)
