"""`rm`: refused for a running (without -f) or restarting container, as docker's; with -f the task is
killed first. The files, the record, the network lease and the image lease go; with -v its anonymous
volumes too.
"""

import asyncio
import logging
import os
import shutil
import subprocess
from pathlib import Path

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


def set_aside_dir(ctx: Context) -> Path:
    """Beside --root/containers (same filesystem: a rename), which holds nothing but containers."""
    return ctx.root.with_name(ctx.root.name + ".removed")


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


def _set_aside(ctx: Context, cid: str) -> Path | None:
    """The container's directory out of its place at once (a rename, on the loop: no thread to wait
    for), to be deleted after the answer (rmtree of its few files took 2-17 ms of `run --rm`); None
    when it is already gone, or deleted here when it cannot be moved. restore() deletes what a killed
    daemon left set aside."""
    d = ctx.dir(cid)
    aside = set_aside_dir(ctx) / cid
    try:
        aside.parent.mkdir(mode=0o700, exist_ok=True)
        d.rename(aside)
    except FileNotFoundError:
        return None
    except OSError:
        shutil.rmtree(d, ignore_errors=True)
        return None
    return aside


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
        rootfs = ctx.dir(cid) / "bundle" / "rootfs"
        if os.path.ismount(rootfs):  # a shim that died mid-create left it
            await in_thread(_unmount, rootfs)
        aside = _set_aside(ctx, cid)
        if aside is not None:
            ctx.runtime.in_background(in_thread(shutil.rmtree, aside, True))
        ctx.store.delete(cid)
        ctx.networks.release(cid)
        ctx.release_lease(cid)
        if volumes:  # rm -v: its anonymous volumes, unless another container still uses them
            await in_thread(remove_dirs, ctx.volumes.release_anonymous(rec.config.mounts))
    ctx.runtime.notify_exit(cid, rec.exit_code)
    ctx.runtime.announce("destroy", rec)
    log.info("container removed", extra={"id": cid})
