"""Health probes: one probing task per running container with a check, begun at each start and ended
at its exit (told on the runtime's bus); a status change is announced as docker's health_status event.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ...clock import rfc3339
from ..health import MAX_OUTPUT, Health, Healthcheck, Result
from ..runtime import Exiting, Lifecycle, Removing, Runtime, Started
from ..store import Store

log = logging.getLogger("pyruncd.containers")

# (argv, timeout) -> (exit code, output), or None when there was nothing to probe (paused, as docker
# skips it); raises TimeoutError when the probe overran
Probe = Callable[[list[str], float], Awaitable[tuple[int, str] | None]]


class HealthMonitors:
    """`probe(cid)` makes the container's probe (ops/exec.py)."""

    def __init__(self, runtime: Runtime, store: Store, probe: Callable[[str], Probe]) -> None:
        self._runtime = runtime
        self._store = store
        self._probe = probe
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._state: dict[str, Health] = {}
        runtime.subscribe(self.on_event)

    def state(self, cid: str) -> Health | None:
        """What inspect shows: the last state, even after the exit."""
        return self._state.get(cid)

    def on_event(self, event: Lifecycle) -> None:
        match event:
            case Started(record=rec):
                self.start(rec.id, rec.config.host.health)
            case Exiting(record=rec):
                self.stop(rec.id)
            case Removing(record=rec):
                self.forget(rec.id)

    def start(self, cid: str, check: Healthcheck | None) -> None:
        self.stop(cid)
        if check is None:
            return
        self._state[cid] = Health()
        self._tasks[cid] = asyncio.ensure_future(self._run(cid, check))

    def stop(self, cid: str) -> None:
        """At exit: probing ends; the last state stays for inspect, as docker shows it."""
        task = self._tasks.pop(cid, None)
        if task is not None:
            task.cancel()

    def forget(self, cid: str) -> None:
        self.stop(cid)
        self._state.pop(cid, None)

    async def _run(self, cid: str, check: Healthcheck) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        probe = self._probe(cid)
        while True:
            await asyncio.sleep(check.interval)
            start = rfc3339()
            try:
                result = await probe(check.argv(), check.timeout)
                if result is None:
                    continue
                code, out = result
            except TimeoutError:
                code, out = -1, f"Health check exceeded timeout ({check.timeout:g}s)"
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - a probe that could not run is a failed probe
                code, out = -1, str(e)
            health = self._state.get(cid)
            if health is None:
                return
            r = Result(start=start, end=rfc3339(), exit_code=code, output=out[-MAX_OUTPUT:])
            if health.record(r, check.retries, loop.time() - began < check.start_period):
                log.info("health status", extra={"id": cid, "status": health.status})
                rec = self._store.get(cid)
                if rec is not None:
                    self._runtime.announce(f"health_status: {health.status}", rec)

    def close(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        self._tasks.clear()
