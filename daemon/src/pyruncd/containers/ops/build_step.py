"""`build_step`: a build's RUN as a container that lives only for it: created, started with its output
handed over as it comes, waited for; on success its upper dir (its changes) is given to `take_changes`
before the container goes. It goes in every case, a failure or a cancelled build included, so a build
leaves no container behind.
"""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from ..context import Context
from ..types import Chunk, CreateOptions
from . import attach, create, remove

Changes = TypeVar("Changes")


async def build_step(ctx: Context, o: CreateOptions, *, on_start: Callable[[str], None],
                     output: Callable[[Chunk], None],
                     take_changes: Callable[[Path], Awaitable[Changes]]) -> tuple[int, Changes | None]:
    """(the exit code, what `take_changes(upper dir)` gave when it was 0, else None)."""
    rec = create.create(ctx, o)
    try:
        on_start(rec.id)
        code = 255
        async for item in attach.attach(ctx, rec.id, start=True):
            if isinstance(item, Chunk):
                output(item)
            else:
                code = item.code
        async with ctx.runtime.lock(rec.id):  # the exit's handling (the task deleted, the rootfs unmounted) is over
            pass
        if code != 0:
            return code, None
        return code, await take_changes(ctx.dir(rec.id) / "upper")
    finally:
        # shielded: a cancelled build still waits for its container to go
        removal = asyncio.ensure_future(remove.remove(ctx, rec.id, force=True, volumes=True))
        try:
            await asyncio.shield(removal)
        except asyncio.CancelledError:
            await removal
            raise
