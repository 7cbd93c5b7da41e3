"""`stop` (the stop signal, then SIGKILL after the timeout) and `restart` (a stop, then a start)."""

import asyncio

from .. import spec as specs
from ..context import Context
from ..runtime import Stopping
from ..shimapi import ShimError
from ..types import Record, Status
from .pause import unpause
from .start import start

DEFAULT_STOP_TIMEOUT = 10


async def _stopping(ctx: Context, cid: str) -> Record:
    """No policy restart after this exit, until a start by hand. Under the container's lock, so a restart
    under way ends first (and is then stopped)."""
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        ctx.runtime.publish(Stopping(record=rec, running=ctx.runtime.live(cid) is not None))
        if not rec.config.run.manually_stopped:
            rec.config.run.manually_stopped = True
            ctx.store.save(rec)
        return rec


async def stop(ctx: Context, text: str, timeout: int | None = None) -> None:
    await ctx.runtime.ready()
    ctx.runtime.check_reachable(ctx.store.resolve(text))
    rec = await _stopping(ctx, ctx.store.resolve(text))
    live = ctx.runtime.live(rec.id)
    if live is None:
        return  # docker: stopping a stopped container succeeds
    if timeout is None:  # docker: `stop -t` over the container's --stop-timeout over 10 s
        timeout = DEFAULT_STOP_TIMEOUT if rec.config.process.stop_timeout is None else rec.config.process.stop_timeout
    exited = ctx.runtime.exit_future(rec.id)
    if rec.status == Status.PAUSED:
        await unpause(ctx, rec.id)
    sig = specs.parse_signal(rec.config.process.stop_signal)
    try:
        if timeout != 0:
            await live.shim.kill(sig, False)
        await asyncio.wait_for(asyncio.shield(exited), timeout if timeout >= 0 else None)
    except (TimeoutError, ShimError):
        try:
            await live.shim.kill(9, True)
        except ShimError:
            pass  # it exited meanwhile
        await asyncio.wait_for(exited, 30)
    ctx.runtime.announce("stop", rec)


async def restart(ctx: Context, text: str, timeout: int | None = None) -> None:
    await stop(ctx, text, timeout)
    await start(ctx, text)
