"""Worker threads that outlive a cancellation cleanly."""

import asyncio
from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

Result = TypeVar("Result")
Args = TypeVarTuple("Args")


async def in_thread(fn: Callable[[*Args], Result], *args: *Args) -> Result:
    """asyncio.to_thread, except that when cancelled it lets the thread end before unwinding:
    threads cannot be stopped, and the caller's cleanup must not pull files from under it."""
    fut = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        await asyncio.gather(fut, return_exceptions=True)
        raise
