"""`attach` (and `start -a`, `run` in the foreground): the container's output as it comes, until it exits;
the client's stdin, resizes and end of stdin to the process (the container's init, or an exec's).
"""

import os
from collections.abc import AsyncIterator, Callable

from ...errors import Conflict
from ...threads import in_thread
from ..context import Context
from ..shimapi import ShimError
from ..types import Chunk, ProcessExit
from .start import start as start_container


async def attach(ctx: Context, text: str, start: bool = False,
                 after_start: Callable[[str], None] | None = None) -> AsyncIterator[Chunk | ProcessExit]:
    """Started here when `start`; `after_start(container id)` once it runs, before any output."""
    cid = ctx.get(text).id
    q = ctx.runtime.attach_queue(cid)
    exited = ctx.runtime.exit_future(cid)
    try:
        if start:
            await start_container(ctx, cid)
        elif not ctx.get(cid).live:
            raise Conflict("You cannot attach to a stopped container, start it first")
        if after_start is not None:
            after_start(cid)
        while (item := await q.get()) is not None:
            stream, data = item
            yield Chunk(stream=stream, data=data)
        yield ProcessExit(code=await exited)
    finally:
        ctx.runtime.detach_queue(cid, q)
        exited.cancel()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


async def write_stdin(ctx: Context, cid: str, data: bytes, exec_id: str = "") -> None:
    await in_thread(_write_all, ctx.runtime.stdin_fd(cid, exec_id), data)


async def close_stdin(ctx: Context, cid: str, exec_id: str = "") -> None:
    """Close our end of the stdin FIFO, then CloseIO: the shim holds a writer of its own (as
    containerd's runc shim does), so stdin ends there, after what the FIFO holds is read."""
    live = ctx.runtime.live(cid)
    fd = -1
    if exec_id:
        fd = ctx.runtime.take_exec_stdin(cid, exec_id)
    elif live is not None:
        fd, live.stdin_fd = live.stdin_fd, -1
    if fd < 0:
        return
    os.close(fd)
    if live is not None:
        try:
            await live.shim.close_io(exec_id)
        except (ShimError, OSError):
            pass  # the process is gone: so is its stdin


async def resize(ctx: Context, cid: str, width: int, height: int, exec_id: str = "") -> None:
    live = ctx.runtime.live(cid)
    if live is not None:
        try:
            await live.shim.resize(width, height, exec_id)
        except ShimError:
            pass  # the process has no terminal or is gone: nothing to resize
