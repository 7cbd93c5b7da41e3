"""The restart policy: each container's back-off and its pending restart (an asyncio timer), told of
exits, stops and removals on the runtime's bus. When the timer fires it starts the container again
through `start_again` (ops/start.py). While one is pending the container is "restarting".
"""

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable

from ..restart import RestartPolicy, decide
from ..runtime import Exited, Lifecycle, Removing, Runtime, StartRequested, Stopping
from ..store import Store
from ..types import Record

log = logging.getLogger("pyruncd.containers")

BACKOFF_START = 0.1   # seconds; doubled at each restart
BACKOFF_MAX = 60.0
RESET_AFTER = 10.0    # a run this long resets the back-off

# (container id, wanted) -> the container started again, if still `wanted()` under its lock
StartAgain = Callable[[str, Callable[[], bool]], Awaitable[None]]


def next_backoff(previous: float, ran_for: float, start: float = BACKOFF_START) -> float:
    if ran_for >= RESET_AFTER or previous == 0:
        return start
    return min(previous * 2, BACKOFF_MAX)


class Restarts:
    """Pending restarts and back-offs. `start(cid, wanted)` starts a container again; it asks `wanted()`
    under the container's lock, so a stop that got the lock first calls it off."""

    def __init__(self, start: StartAgain, backoff_start: float = BACKOFF_START) -> None:
        self._start = start
        self._backoff_start = backoff_start
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._backoff: dict[str, float] = {}
        self._cancelled: set[str] = set()  # stopped or removed while running: the coming exit restarts nothing
        self._firing: set[str] = set()     # timer fired, start under way: a stop meanwhile calls it off

    def restarting(self, cid: str) -> bool:
        """Waiting out its back-off, or being started again (docker's Restarting until the task runs)."""
        return cid in self._pending or cid in self._firing

    def reset(self, cid: str) -> None:
        """A start by hand, or the container is gone: nothing pending, back-off from the start."""
        handle = self._pending.pop(cid, None)
        if handle is not None:
            handle.cancel()
        self._backoff.pop(cid, None)
        self._cancelled.discard(cid)
        self._firing.discard(cid)

    def cancel(self, cid: str, running: bool) -> None:
        """A stop or a remove (docker's restart manager Cancel): also for the exit it causes when `running`."""
        self.reset(cid)
        if running:
            self._cancelled.add(cid)

    def exited(self, cid: str, policy: RestartPolicy, exit_code: int, restart_count: int, manually_stopped: bool,
               ran_for: float) -> bool:
        """After an exit is recorded: schedule the restart the policy asks for; True when one is."""
        if cid in self._cancelled:
            self._cancelled.discard(cid)
            return False
        if not decide(policy, exit_code, restart_count, manually_stopped):
            self._backoff.pop(cid, None)
            return False
        delay = self._backoff[cid] = next_backoff(self._backoff.get(cid, 0), ran_for, self._backoff_start)
        loop = asyncio.get_running_loop()
        self._pending[cid] = loop.call_later(delay, lambda: asyncio.ensure_future(self._fire(cid)))
        log.info("container restarting", extra={"id": cid, "delay": delay})
        return True

    async def _fire(self, cid: str) -> None:
        if self._pending.pop(cid, None) is None:
            return
        self._firing.add(cid)
        try:
            await self._start(cid, lambda: cid in self._firing)
        except Exception as e:  # noqa: BLE001 - a failed restart ends the policy, as docker's
            log.warning("restart failed", extra={"id": cid, "error": str(e)})
            self._backoff.pop(cid, None)
        finally:
            self._firing.discard(cid)

    def close(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()


def _seconds(rfc3339: str) -> float:
    try:
        return datetime.datetime.fromisoformat(rfc3339[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0


class Restarter:
    """The subscriber: restarts as each container's policy says, after its exit is saved (not for --rm)."""

    def __init__(self, runtime: Runtime, store: Store, start_again: StartAgain,
                 backoff_start: float = BACKOFF_START) -> None:
        self._store = store
        self.restarts = Restarts(start_again, backoff_start)
        runtime.subscribe(self.on_event)

    def restarting(self, cid: str) -> bool:
        return self.restarts.restarting(cid)

    def on_event(self, event: Lifecycle) -> None:
        match event:
            case StartRequested(record=rec):
                self.restarts.reset(rec.id)
            case Exited(record=rec):
                self._exited(rec)
            case Stopping(record=rec, running=running) | Removing(record=rec, running=running):
                self.restarts.cancel(rec.id, running)

    def _exited(self, rec: Record) -> None:
        if rec.config.auto_remove:
            return
        run = rec.config.run
        ran_for = max(0.0, _seconds(rec.finished_at) - _seconds(rec.started_at))
        if self.restarts.exited(rec.id, rec.config.host.restart, rec.exit_code, run.restart_count,
                                run.manually_stopped, ran_for):
            run.restart_count += 1
            self._store.save(rec)

    def close(self) -> None:
        self.restarts.close()
