"""What follows a container's exit: the shim's Wait answers, the task is deleted and its shim shut down,
the exit saved and told; then the policies act (a restart), or `run --rm` removes it.
"""

import asyncio
import logging

from ...clock import rfc3339
from ..context import Context
from ..runtime import Exited, Exiting, Live
from ..shimapi import Exit
from ..types import Status
from .remove import remove

log = logging.getLogger("pyruncd.containers")


def watch(ctx: Context, cid: str, live: Live) -> None:
    """From now on the container's exit is handled (Wait answers at once if it exited while we were down)."""
    waiting = asyncio.ensure_future(live.shim.wait())

    def done(f: "asyncio.Future[Exit]") -> None:
        if f.cancelled():
            return  # the daemon is stopping
        exc = f.exception()
        if exc is not None:
            log.warning("lost the shim", extra={"id": cid, "error": str(exc)})
        asyncio.ensure_future(exited(ctx, cid, live, None if exc else f.result()))

    waiting.add_done_callback(done)


async def exited(ctx: Context, cid: str, live: Live, exit: Exit | None) -> None:
    async with ctx.runtime.lock(cid):
        if ctx.runtime.live(cid) is not live:
            return
        live.close_output()
        bundle = ctx.dir(cid) / "bundle"
        rec = ctx.get(cid)
        ctx.runtime.publish(Exiting(record=rec))
        if exit is None:  # the shim is gone: clean up after it as containerd would
            # or it answers without its task (a daemon killed mid-discard): shut it down before
            # `shim delete` unlinks its socket
            await live.shim.shutdown()
            exit = await ctx.shims.delete_dead(bundle, cid) or Exit(status=255, exited_at=0)
        else:
            await live.shim.close(bundle)
        ctx.runtime.drop_live(cid)
        await ctx.networks.detach(cid)
        rec.move(Status.EXITED)
        rec.exit_code, rec.pid, rec.shim_address = exit.status, 0, ""
        rec.finished_at = rfc3339(exit.exited_at or None)
        ctx.store.save(rec)
        ctx.runtime.announce("die", rec, exitCode=str(exit.status))
        log.info("container exited", extra={"id": cid, "exit_code": exit.status})
        ctx.runtime.publish(Exited(record=rec))
    if rec.config.auto_remove:  # as docker's run --rm: the exit is told once the container is gone
        try:
            await remove(ctx, cid, force=True, volumes=True)
        finally:
            ctx.runtime.notify_exit(cid, exit.status)
    else:
        ctx.runtime.notify_exit(cid, exit.status)
