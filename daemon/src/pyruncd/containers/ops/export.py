"""`export`: the container's files (its rootfs as mounted, without its volumes) as a tar, streamed.

The tar is written in a worker thread into a pipe the loop reads: a slow client slows the writer down,
and a client that goes away closes the pipe, which ends the writer (EPIPE). The rootfs is the
container's, walked on descriptors without following its links (snapshots/diff.py)."""

import asyncio
import os
from collections.abc import AsyncIterator

from ...snapshots.diff import write_layer_tar
from ..context import Context
from .cp import rootfs_view

_CHUNK = 1 << 20


async def export(ctx: Context, text: str) -> AsyncIterator[bytes]:
    async with rootfs_view(ctx, text) as rootfs:
        r, w = os.pipe()

        def produce() -> None:
            try:
                with os.fdopen(w, "wb") as out:
                    write_layer_tar(rootfs, out, overlay_form=False)
            except BrokenPipeError:
                pass  # the reader went away

        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_CHUNK)
        try:
            transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                        os.fdopen(r, "rb", buffering=0))
        except BaseException:
            os.close(w)
            raise
        writer = asyncio.ensure_future(asyncio.to_thread(produce))
        try:
            while chunk := await reader.read(_CHUNK):
                yield chunk
            await writer  # its error, if it failed
        finally:
            transport.close()
            await asyncio.gather(writer, return_exceptions=True)
