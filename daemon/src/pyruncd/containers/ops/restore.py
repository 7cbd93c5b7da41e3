"""After a daemon restart: take running containers back from their shims, without holding up the API;
record the exits missed while it was down; start again what the restart policies keep running.

A shim is declared dead only when its process is gone. One that lives but does not answer (stopped,
overloaded) keeps its container: it is asked again with back-off while the container runs on and
the API serves every other request; operations on that container say it is being reconnected.
"""

import asyncio
import logging
import shutil

from ...clock import rfc3339
from ...threads import in_thread
from ..context import Context
from ..restart import decide
from ..runtime import Exited, Started
from ..shimapi import ShimClient
from ..types import LIVE, Record, Status
from .exit import watch
from .remove import remove, set_aside_dir
from .start import open_output, start_again

log = logging.getLogger("pyruncd.containers")

PROBE_TIMEOUT = 2.0   # seconds a live shim has to answer Connect before it is tried again later
RETRY_START = 0.5
RETRY_MAX = 30.0


def hold_leases(ctx: Context) -> None:
    """Before anything collects garbage at start: every container's image stays."""
    for rec in ctx.store.find():
        ctx.hold_lease(rec)


class Reconnects:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._retries: dict[str, asyncio.Task[None]] = {}

    async def first_pass(self, recs: list[Record]) -> None:
        """Each running container at once: reconnected, declared exited (its shim is gone), or retried."""
        try:
            await asyncio.gather(*(self._try(rec, first=True) for rec in recs))
        finally:
            self._ctx.runtime.reconnected.set()

    async def _try(self, rec: Record, first: bool) -> bool:
        """True when settled: reconnected or declared exited."""
        ctx = self._ctx
        async with ctx.runtime.lock(rec.id):
            found = ctx.store.get(rec.id)
            if found is None or not found.live or ctx.runtime.live(rec.id) is not None:
                return True
            rec = found
            shim = ctx.shims.connect(rec.id, rec.shim_address)
            if rec.shim_address and await shim.alive(PROBE_TIMEOUT):
                _reconnected(ctx, rec, shim)
                return True
            if not await ctx.shims.running({rec.id}):
                await self._declare_exited(rec, told=not first)
                return True
        if first:
            log.warning("container's shim does not answer; retrying", extra={"id": rec.id})
            ctx.runtime.reconnecting(rec.id, True)
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
            self._ctx.runtime.reconnecting(rec.id, False)

    async def _declare_exited(self, rec: Record, told: bool) -> None:
        """Clean up after a shim that is gone, as containerd does (`shim delete`); `told`: after the first
        pass, the exit is announced and the policy applied as for any exit."""
        ctx = self._ctx
        exit = await ctx.shims.delete_dead(ctx.dir(rec.id) / "bundle", rec.id)
        rec.move(Status.EXITED)
        rec.exit_code = exit.status if exit else 255
        rec.pid, rec.shim_address = 0, ""
        rec.finished_at = rfc3339(exit.exited_at if exit and exit.exited_at else None)
        ctx.store.save(rec)
        log.info("container's shim gone", extra={"id": rec.id, "exit_code": rec.exit_code})
        if told:
            await ctx.networks.detach(rec.id)
            ctx.runtime.announce("die", rec, exitCode=str(rec.exit_code))
            ctx.runtime.publish(Exited(record=rec))
            ctx.runtime.notify_exit(rec.id, rec.exit_code)

    def close(self) -> None:
        for task in self._retries.values():
            task.cancel()


def _reconnected(ctx: Context, rec: Record, shim: ShimClient) -> None:
    live = open_output(ctx, rec, shim)
    ctx.runtime.add_live(rec.id, live)
    watch(ctx, rec.id, live)  # Wait answers at once if it exited while we were down
    ctx.runtime.publish(Started(record=rec))
    log.info("container reconnected", extra={"id": rec.id})


async def restore(ctx: Context, reconnects: Reconnects) -> None:
    """Leases for every container, reconnect to live shims, record exits we missed; then what the policies
    keep running starts again (docker's daemon restore). Runs while the API already answers."""
    hold_leases(ctx)
    # what a killed daemon set aside (remove.py), before any removal (they wait for the first pass)
    await in_thread(shutil.rmtree, set_aside_dir(ctx), True)
    recs = ctx.store.find()
    await reconnects.first_pass([r for r in recs if r.status in LIVE])
    for rec in recs:
        if rec.status == Status.REMOVING:
            await remove(ctx, rec.id, force=True, volumes=rec.config.auto_remove)
    await _booted(ctx)


async def _booted(ctx: Context) -> None:
    stopped = {rec.id: rec for rec in ctx.store.find(Status.CREATED, Status.EXITED)}
    for cid, pids in (await ctx.shims.running(set(stopped))).items():
        await ctx.shims.discard(ctx.dir(cid) / "bundle", cid, pids)
        log.info("half-started container's shim discarded", extra={"id": cid})
    for rec in ctx.store.find(Status.EXITED):
        if ctx.restarting(rec.id) or rec.config.auto_remove:
            continue
        run = rec.config.run
        # the same rule as at an exit: a stop by hand holds `unless-stopped` back, not `always`
        if decide(rec.config.host.restart, rec.exit_code, run.restart_count, run.manually_stopped):
            try:
                await start_again(ctx, rec.id, lambda: True)
            except Exception as e:  # noqa: BLE001 - one container that cannot start stops no other
                log.warning("restart at boot failed", extra={"id": rec.id, "error": str(e)})
