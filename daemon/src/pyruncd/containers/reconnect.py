"""After a daemon restart: take running containers back from their shims, without holding up the API.

A shim is declared dead only when its process is gone. One that lives but does not answer (stopped,
overloaded) keeps its container: it is asked again with back-off while the container runs on and
the API serves every other request; operations on that container say it is being reconnected.
"""

import asyncio
import logging

from ..clock import rfc3339
from ..errors import Conflict
from ..threads import in_thread
from . import shim as shims
from .hostconfig import shim_processes
from .status import Status
from .store import Record

log = logging.getLogger("pyruncd.containers")

PROBE_TIMEOUT = 2.0   # seconds a live shim has to answer Connect before it is tried again later
RETRY_START = 0.5
RETRY_MAX = 30.0


def _shim_process_alive(cid: str) -> bool:
    return bool(shim_processes({cid}))


class Reconnects:
    def __init__(self, manager):
        self.m = manager
        self._retries: dict[str, asyncio.Task] = {}
        self.done = asyncio.Event()  # the first pass is over: each running container is live or retried

    def check(self, cid: str) -> None:
        """Refuse an operation on a container whose shim has not answered yet."""
        if cid in self._retries:
            raise Conflict(f"container {cid[:12]}: its shim has not answered since pyruncd restarted; "
                           "reconnecting, try again later")

    async def first_pass(self, recs: list[Record]) -> None:
        """Each running container at once: reconnected, declared exited (its shim is gone), or retried."""
        try:
            await asyncio.gather(*(self._try(rec, first=True) for rec in recs))
        finally:
            self.done.set()

    async def _try(self, rec: Record, first: bool) -> bool:
        """True when settled: reconnected or declared exited."""
        async with self.m._lock(rec.id):
            try:
                rec = self.m.get(rec.id)
            except Exception:  # noqa: BLE001 - removed meanwhile
                return True
            if rec.status not in (Status.RUNNING, Status.PAUSED) or rec.id in self.m._live:
                return True
            shim = shims.Shim(rec.id, rec.shim_address)
            if rec.shim_address and await in_thread(shim.alive, PROBE_TIMEOUT):
                self.m.reconnected(rec, shim)
                return True
            if not await in_thread(_shim_process_alive, rec.id):
                await self._declare_exited(rec, told=not first)
                return True
        if first:
            log.warning("container's shim does not answer; retrying", extra={"id": rec.id})
            self._retries[rec.id] = asyncio.ensure_future(self._retry(rec))
        return False

    async def _retry(self, rec: Record) -> None:
        delay = RETRY_START
        try:
            while True:
                await asyncio.sleep(delay)
                if await self._try(rec, first=False):
                    return
                delay = min(delay * 2, RETRY_MAX)
        finally:
            self._retries.pop(rec.id, None)

    async def _declare_exited(self, rec: Record, told: bool) -> None:
        """Clean up after a shim that is gone, as containerd does (`shim delete`); `told`: after the first
        pass, the exit is announced and the policy applied as for any exit."""
        resp = await in_thread(shims.delete_dead, self.m.dir(rec.id) / "bundle", rec.id)
        rec.move(Status.EXITED)
        rec.exit_code = resp.exit_status if resp else 255
        rec.pid, rec.shim_address = 0, ""
        rec.finished_at = rfc3339(resp.exited_at.seconds if resp and resp.exited_at.seconds else None)
        self.m.store.save(rec)
        log.info("container's shim gone", extra={"id": rec.id, "exit_code": rec.exit_code})
        if told:
            await self.m.d.networks.detach(rec.id)
            self.m._event("die", rec, exitCode=str(rec.exit_code))
            self.m.policies.exited(rec)
            self.m._notify_exit(rec.id, rec.exit_code)

    def close(self) -> None:
        for task in self._retries.values():
            task.cancel()
