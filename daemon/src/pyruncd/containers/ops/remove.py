"""`rm`: refused for a running (without -f) or restarting container, as docker's; with -f the task is
killed first. The files, the record, the network lease and the image lease go; with -v its anonymous
volumes too.
"""

import asyncio
import logging
import os
import shutil
import subprocess

from ...errors import Conflict, NotFound
from ...threads import in_thread
from ...volumes.store import remove_dirs
from ..context import Context
from ..runtime import Removing
from ..shimapi import ShimError
from ..types import Record, Status

log = logging.getLogger("pyruncd.containers")


async def _removing(ctx: Context, cid: str, force: bool) -> Record:
    """Under the container's lock, so a restart under way ends first; no policy brings it back after this,
    unless it runs and -f was not given (then the running check below refuses)."""
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        running = ctx.runtime.live(cid) is not None
        if not force and ctx.restarting(cid):
            raise Conflict(f"You cannot remove a restarting container {cid}. Stop the container before "
                           "attempting removal or force remove")
        if running and not force:
            return rec
        ctx.runtime.publish(Removing(record=rec, running=running))  # when running, its exit is consumed there
        return rec


def _remove_files(ctx: Context, cid: str) -> None:
    rootfs = ctx.dir(cid) / "bundle" / "rootfs"
    if os.path.ismount(rootfs):
        subprocess.run(["umount", "-l", str(rootfs)], check=False)
    shutil.rmtree(ctx.dir(cid), ignore_errors=True)


async def remove(ctx: Context, text: str, force: bool = False, volumes: bool = False) -> None:
    await ctx.runtime.ready()
    try:
        cid = ctx.store.resolve(text)
    except NotFound:
        if force and ctx.runtime.known(text):  # removed by --rm meanwhile
            return
        raise
    ctx.runtime.check_reachable(cid)
    rec = await _removing(ctx, cid, force)
    if rec.live:
        if not force:
            raise Conflict(f"You cannot remove a {rec.status} container {cid}. Stop the container before "
                           "attempting removal or force remove")
        exited = ctx.runtime.exit_future(cid)
        live = ctx.runtime.live(cid)
        if live is not None:
            try:
                await live.shim.kill(9, True)
            except ShimError:
                pass
        await asyncio.wait_for(exited, 30)
    async with ctx.runtime.lock(cid):
        try:
            rec = ctx.get(cid)
        except NotFound:
            return  # --rm got there first
        if rec.status == Status.REMOVING and ctx.runtime.live(cid) is not None:
            return
        if rec.status != Status.REMOVING:
            rec.move(Status.REMOVING)
            ctx.store.save(rec)
        await in_thread(_remove_files, ctx, cid)
        ctx.store.delete(cid)
        ctx.networks.release(cid)
        ctx.release_lease(cid)
        if volumes:  # rm -v: its anonymous volumes, unless another container still uses them
            await in_thread(remove_dirs, ctx.volumes.release_anonymous(rec.config.mounts))
    ctx.runtime.notify_exit(cid, rec.exit_code)
    ctx.runtime.announce("destroy", rec)
    log.info("container removed", extra={"id": cid})
