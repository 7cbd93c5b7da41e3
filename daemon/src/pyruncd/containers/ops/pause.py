"""`pause` and `unpause`: the shim freezes and thaws the container's cgroup."""

from ...errors import Conflict
from ..context import Context
from ..types import Status


async def pause(ctx: Context, text: str) -> None:
    await ctx.runtime.ready()
    cid = ctx.store.resolve(text)
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        live = ctx.runtime.running(rec)
        if rec.status == Status.PAUSED:
            raise Conflict(f"Container {rec.id} is already paused")
        await live.shim.pause()
        rec.move(Status.PAUSED)
        ctx.store.save(rec)
        ctx.runtime.announce("pause", rec)


async def unpause(ctx: Context, text: str) -> None:
    await ctx.runtime.ready()
    cid = ctx.store.resolve(text)
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        if rec.status != Status.PAUSED:  # a stopped container too, as dockerd says
            raise Conflict(f"Container {rec.id} is not paused")
        live = ctx.runtime.running(rec)
        await live.shim.resume()
        rec.move(Status.RUNNING)
        ctx.store.save(rec)
        ctx.runtime.announce("unpause", rec)
