"""`start`: the bundle written, a shim started, the task created (its network attached meanwhile, the
veths plugged after), then started; and the exit watched from then on (ops/exit.py). A policy's restart
comes in through `start_again`.
"""

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from ...clock import rfc3339
from ...errors import Conflict
from ...fsutil import write_private
from ...networks.manager import join_netns
from ...threads import in_thread
from ...volumes import mounts as vmounts
from ...volumes.store import seed
from .. import resources
from .. import spec as specs
from ..context import Context
from ..fifo import FifoReader
from ..logs import LogFile
from ..runtime import Live, Started, StartRequested
from ..shimapi import ShimClient, TaskSpec
from ..types import TRANSITIONS, Record, RunState, Status
from .exit import watch

log = logging.getLogger("pyruncd.containers")


async def start(ctx: Context, text: str) -> Record:
    await ctx.runtime.ready()
    cid = ctx.store.resolve(text)
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        if rec.status == Status.RUNNING:
            return rec
        if rec.status == Status.PAUSED:
            raise Conflict("cannot start a paused container, try unpause instead")
        if Status.RUNNING not in TRANSITIONS[rec.status]:
            raise Conflict(f"container {cid[:12]} is {rec.status}, it cannot start")
        # as docker, a start by hand begins the restart count, manual stop and OOM flag again
        rec.config.run = RunState()
        ctx.runtime.publish(StartRequested(record=rec))
        await launch(ctx, rec)
        return rec


async def start_again(ctx: Context, cid: str, wanted: Callable[[], bool]) -> None:
    """A restart the policy asked for (if still `wanted()`): no reset of the restart count."""
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        if rec.status == Status.EXITED and wanted():
            await launch(ctx, rec)


def _write_bundle(ctx: Context, rec: Record, lowers: list[Path], netns: str = "") -> Path:
    """In a worker thread: no database here."""
    d = ctx.dir(rec.id)
    bundle = d / "bundle"
    user = specs.resolve_user(rec.config.process.user, lowers, d / "upper", rec.config.process.group_add)
    etc = specs.etc_files(d / "etc", rec.config.settings.hostname, rec.config.settings.network)
    if not rec.started_at:  # the first start: empty volumes get the image's content, as docker's create
        seed(rec.config.mounts, lowers, d / "upper", d / "work", d / "seed")
    doc = specs.build(rec.config.process, rec.config.settings, user=user, etc=etc,
                      cgroups_path=f"{ctx.cgroup_parent}/{rec.id}",
                      volumes=vmounts.oci_mounts(rec.config.mounts))
    if netns:
        join_netns(doc, netns)
    resources.apply(doc, rec.config.host.resources, rec.config.host.security)
    write_private(bundle / "config.json", json.dumps(doc))
    return bundle


def open_output(ctx: Context, rec: Record, shim: ShimClient) -> Live:
    """The container's FIFOs, read into its log file and to whoever is attached."""
    d = ctx.dir(rec.id)
    logf = LogFile(ctx.log_path(rec.id), ctx.log_config(rec))
    live = Live(shim=shim, log=logf)

    def sink(stream: str) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            logf.write(stream, data)
            ctx.runtime.output(rec.id, live, stream, data)
        return write

    for stream in ("stdout",) if rec.config.process.tty else ("stdout", "stderr"):
        fifo = d / stream
        if not fifo.exists():
            os.mkfifo(fifo, 0o600)
        live.readers.append(FifoReader(fifo, sink(stream)))
    if rec.config.open_stdin:
        if not (d / "stdin").exists():
            os.mkfifo(d / "stdin", 0o600)
        live.stdin_fd = os.open(d / "stdin", os.O_RDWR | os.O_CLOEXEC)
    return live


async def launch(ctx: Context, rec: Record) -> None:
    """Under the container's lock: start it, whoever asked."""
    lowers = ctx.lowers(rec)
    d = ctx.dir(rec.id)
    bundle = d / "bundle"
    # the shim starts (~25 ms) while the bundle is written: it reads nothing of it until Create
    shim_start = asyncio.ensure_future(ctx.shims.start(bundle, rec.id))
    try:
        await in_thread(_write_bundle, ctx, rec, lowers, ctx.networks.netns_path(rec))
        # shielded: a start cancelled now (a build's client gone) still gets the shim, to shut it down
        shim: ShimClient = await asyncio.shield(shim_start)
    except BaseException:
        with contextlib.suppress(Exception):
            await (await shim_start).close(bundle)
        raise
    live: Live | None = None
    try:
        live = open_output(ctx, rec, shim)
        log.debug("shim started", extra={"id": rec.id, "address": shim.address})
        tty = rec.config.process.tty
        # the network's attach runs beside the create, its veths plugged once the netns exists
        pid = await ctx.networks.attach_during(rec, shim.create(TaskSpec(
            bundle=bundle, lowers=lowers, upper=d / "upper", work=d / "work", runtime=rec.config.settings.runtime,
            stdin=d / "stdin" if rec.config.open_stdin else None, terminal=tty, stdout=d / "stdout",
            stderr=None if tty else d / "stderr")))
        log.debug("task created and attached", extra={"id": rec.id, "pid": pid})
        try:
            await shim.start()
        except BaseException:
            await ctx.networks.detach(rec.id)
            raise
    except BaseException as e:
        if live is not None:
            live.close_output()
        await shim.close(bundle)
        rec.error = str(e)
        ctx.store.save(rec)
        raise
    rec.move(Status.RUNNING)
    rec.pid, rec.exit_code, rec.error = pid, 0, ""
    rec.started_at, rec.finished_at, rec.shim_address = rfc3339(), "", shim.address
    ctx.store.save(rec)
    ctx.runtime.add_live(rec.id, live)
    watch(ctx, rec.id, live)
    ctx.runtime.publish(Started(record=rec))
    ctx.runtime.announce("start", rec)
    log.info("container started", extra={"id": rec.id, "pid": pid})
