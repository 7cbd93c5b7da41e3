"""`exec`: a process run in a running container through its shim, its output streamed until it exits;
and the health probe, an exec with a timeout.

A client that leaves (detach keys, or gone) leaves the process running, as docker's: it is reaped
in the background once it exits, never deleted from the shim while it runs.
"""

import asyncio
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from ...errors import Conflict, InvalidArgument
from ...threads import in_thread
from .. import spec as specs
from ..context import Context
from ..fifo import FifoReader, Outlet
from ..policies.health import Probe
from ..shimapi import ExecSpec, Exit, ShimClient, ShimError
from ..types import Chunk, ExecOptions, ProcessExit, Record, Status

# a killed probe's exec ends within this, or is left to be reaped in the background
KILLED_PROBE_GRACE = 10.0
# (container id, exec id): called once the process runs, from then on stdin, resize and close reach it
OnStart = Callable[[str, str], None]


def _to_outlet(q: Outlet, stream: str, readers: list[FifoReader], data: bytes) -> None:
    q.push((stream, data), readers)


async def _process(ctx: Context, rec: Record, o: ExecOptions) -> dict[str, Any]:
    d = ctx.dir(rec.id)
    process: dict[str, Any] = json.loads((d / "bundle" / "config.json").read_text())["process"]
    process.update(args=list(o.cmd), terminal=o.tty,
                   env=specs.merge_env(process["env"], o.env + (["TERM=xterm"] if o.tty else [])))
    if o.workdir:
        process["cwd"] = o.workdir
    if o.user:
        lowers = ctx.lowers(rec)
        process["user"] = await in_thread(specs.resolve_user, o.user, lowers, d / "upper",
                                          rec.config.process.group_add)
    return process


async def exec(ctx: Context, text: str, o: ExecOptions,
               on_start: OnStart | None = None) -> AsyncIterator[Chunk | ProcessExit]:
    """Chunks of output, then the exit code."""
    await ctx.runtime.ready()
    rec = ctx.get(text)
    live = ctx.runtime.running(rec)
    if rec.status == Status.PAUSED:
        raise Conflict(f"Container {rec.id} is paused, unpause the container before exec")
    if not o.cmd:
        raise InvalidArgument("exec: no command given")
    d = ctx.dir(rec.id)
    process = await _process(ctx, rec, o)
    eid = os.urandom(8).hex()
    q = Outlet()
    readers: list[FifoReader] = []
    fifos: list[Path] = []
    started = False
    wait: asyncio.Future[Exit] | None = None
    try:
        paths: dict[str, Path] = {}
        for stream in ("stdout",) if o.tty else ("stdout", "stderr"):
            fifo = paths[stream] = d / f"exec-{eid}-{stream}"
            os.mkfifo(fifo, 0o600)
            fifos.append(fifo)
            readers.append(FifoReader(fifo, functools.partial(_to_outlet, q, stream, readers)))
        if o.interactive:
            fifo = paths["stdin"] = d / f"exec-{eid}-stdin"
            os.mkfifo(fifo, 0o600)
            fifos.append(fifo)
            ctx.runtime.set_exec_stdin(rec.id, eid, os.open(fifo, os.O_RDWR | os.O_CLOEXEC))
        await live.shim.exec(ExecSpec(exec_id=eid, process=process, stdout=paths["stdout"],
                                      stderr=paths.get("stderr"), stdin=paths.get("stdin"), terminal=o.tty))
        starting = asyncio.ensure_future(live.shim.start(eid))
        try:
            await asyncio.shield(starting)
        except asyncio.CancelledError:
            # the caller left while the shim was starting it: the process may run, so it is reaped
            # once it ends (as for a client that leaves later), never deleted while it runs
            asyncio.ensure_future(_reap_cut_start(ctx, live.shim, eid, starting))
            raise
        except BaseException:
            await live.shim.delete(eid)
            raise
        started = True
        wait = asyncio.ensure_future(live.shim.wait(eid))
        if on_start is not None:
            on_start(rec.id, eid)
        while True:
            getter = asyncio.ensure_future(q.get())
            await asyncio.wait({getter, wait}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                break
            item = getter.result()
            assert item is not None  # the end marker is attach's; an exec's output ends with its process
            yield Chunk(stream=item[0], data=item[1])
        q.release()
        for r in readers:
            r.drain()
        while not q.empty() and (item := q.get_nowait()) is not None:
            yield Chunk(stream=item[0], data=item[1])
        yield ProcessExit(code=(await wait).status)
    finally:
        if started and wait is not None and not wait.done():
            # the client left (detach keys, or it went away): as docker, the process runs on
            for r in readers:
                r.sink = lambda data: None
            q.release()
            asyncio.ensure_future(_reap(ctx, live.shim, rec.id, eid, wait, readers, fifos))
        else:
            await _reap(ctx, live.shim, rec.id, eid, wait, readers, fifos)


async def _reap_cut_start(ctx: Context, shim: ShimClient, eid: str, starting: "asyncio.Future[int]") -> None:
    try:
        await starting
    except Exception:  # noqa: BLE001 - it never ran
        with contextlib.suppress(ShimError, OSError):
            await shim.delete(eid)
        return
    await _reap(ctx, shim, "", eid, asyncio.ensure_future(shim.wait(eid)), [], [])


async def _reap(ctx: Context, shim: ShimClient, cid: str, eid: str, wait: "asyncio.Future[Exit] | None",
                readers: list[FifoReader], fifos: list[Path]) -> None:
    """After an exec's exit (awaited here if need be): close its FIFOs, delete it from the shim."""
    if wait is not None:
        await asyncio.gather(wait, return_exceptions=True)
    for r in readers:
        r.close()
    fd = ctx.runtime.take_exec_stdin(cid, eid)
    if fd >= 0:
        os.close(fd)
    if wait is not None:
        try:
            await shim.delete(eid)
        except (ShimError, OSError):
            pass
    for f in fifos:
        f.unlink(missing_ok=True)


def probe(ctx: Context, cid: str) -> Probe:
    """The container's health probe: (argv, timeout) -> (exit code, output), None while it is paused."""
    async def run_probe(argv: list[str], timeout: float) -> tuple[int, str] | None:
        if ctx.get(cid).status == Status.PAUSED:
            return None
        out: list[bytes] = []
        ids: list[str] = []
        code = -1
        expired = False

        def kill(eid: str) -> None:
            live = ctx.runtime.live(cid)
            if live is not None:
                asyncio.ensure_future(live.shim.kill(9, False, eid)).add_done_callback(
                    lambda f: f.cancelled() or f.exception())  # it may have ended meanwhile

        def started(_cid: str, eid: str) -> None:
            ids.append(eid)
            if expired:  # the timeout came while the shim was still starting it
                kill(eid)

        async def run() -> None:
            nonlocal code
            async for item in exec(ctx, cid, ExecOptions(cmd=argv), on_start=started):
                if isinstance(item, Chunk):
                    out.append(item.data)
                else:
                    code = item.code

        # never cancel the exec mid-start (the shim could not delete what then runs): on timeout, kill
        # the process, and its exit ends the exec as any other
        task = asyncio.ensure_future(run())
        try:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if task not in done:
                expired = True
                if ids:
                    kill(ids[0])
                await asyncio.wait({task}, timeout=KILLED_PROBE_GRACE)
                raise TimeoutError
            task.result()
        finally:
            task.cancel()
        return code, b"".join(out).decode(errors="replace")

    return run_probe
