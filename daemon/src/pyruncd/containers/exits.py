"""Exits as the shims tell them, so no thread blocks in a shim's Wait per running process.

A wait (shim.py's ShimTask.wait) registers here first, then asks the shim's State once: an exit that came
before, or while pyruncd was down, is seen there; a later one comes as a /tasks/exit event (events.py),
which the shim sends after its TaskOOM, so OOMKilled is known before the exit is handled. The wait
for a task pyruncd starts is registered before its Start, and needs no State. A shim that
dies tells nothing: its process is watched through a pidfd, and its waits then fail, as a Wait whose
connection closed did.
"""

import asyncio
import os
from dataclasses import dataclass

from .shimapi import Exit, ShimUnreachable


@dataclass(frozen=True, kw_only=True)
class _Wait:
    container_id: str
    exec_id: str
    shim_pid: int
    future: "asyncio.Future[Exit]"


class ExitWatch:
    def __init__(self) -> None:
        self._waits: dict[tuple[str, str], list[_Wait]] = {}
        self._shims: dict[int, int] = {}   # shim pid -> its pidfd, watched on the loop

    def expect(self, container_id: str, exec_id: str, shim_pid: int) -> "asyncio.Future[Exit]":
        """A future the process's exit resolves; the shim serving it (`shim_pid`) is watched from now on."""
        fut: asyncio.Future[Exit] = asyncio.get_running_loop().create_future()
        self._watch_shim(shim_pid, container_id)
        self._waits.setdefault((container_id, exec_id), []).append(
            _Wait(container_id=container_id, exec_id=exec_id, shim_pid=shim_pid, future=fut))
        fut.add_done_callback(lambda _: self._drop(container_id, exec_id, fut))
        return fut

    def exited(self, container_id: str, exec_id: str, exit: Exit) -> None:
        """A process ended (exec_id "" for the container's init): its waits answer."""
        for w in self._waits.pop((container_id, exec_id), []):
            if not w.future.done():
                w.future.set_result(exit)

    def _drop(self, container_id: str, exec_id: str, fut: "asyncio.Future[Exit]") -> None:
        waits = self._waits.get((container_id, exec_id))
        if waits is None:
            return
        waits[:] = [w for w in waits if w.future is not fut]
        if not waits:
            del self._waits[(container_id, exec_id)]

    def _watch_shim(self, pid: int, container_id: str) -> None:
        if pid in self._shims:
            return
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            raise ShimUnreachable(f"container {container_id[:12]}: its shim is gone") from None
        self._shims[pid] = fd
        asyncio.get_running_loop().add_reader(fd, self._shim_died, pid)

    def _shim_died(self, pid: int) -> None:
        fd = self._shims.pop(pid)
        asyncio.get_running_loop().remove_reader(fd)
        os.close(fd)
        for waits in list(self._waits.values()):
            for w in waits:
                if w.shim_pid == pid and not w.future.done():
                    w.future.set_exception(ShimUnreachable(
                        f"container {w.container_id[:12]}: its shim exited while waiting"))

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for fd in self._shims.values():
            loop.remove_reader(fd)
            os.close(fd)
        self._shims.clear()
