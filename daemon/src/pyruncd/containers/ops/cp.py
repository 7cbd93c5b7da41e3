"""`cp`: a tar of a path in the container's files, or one unpacked into them, by a helper process
(archive.py) that resolves paths on descriptors inside the rootfs."""

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from ... import overlay
from ...errors import InvalidArgument, NotFound
from ..context import Context


@contextlib.asynccontextmanager
async def rootfs_view(ctx: Context, text: str) -> AsyncIterator[Path]:
    """The container's files: its mounted rootfs while it runs, else its overlay mounted for the while."""
    rec = ctx.get(text)
    if ctx.runtime.live(rec.id) is not None:
        yield ctx.dir(rec.id) / "bundle" / "rootfs"
        return
    async with ctx.runtime.lock(rec.id):
        lowers = ctx.lowers(rec)
        d = ctx.dir(rec.id)
        view = overlay.mounted(lowers, d / "upper", d / "work", d / "cp", f"the rootfs of {rec.id[:12]}")
        target = await asyncio.to_thread(view.__enter__)
        try:
            yield target
        finally:
            await asyncio.to_thread(view.__exit__, None, None, None)


async def _helper(mode: str, rootfs: Path, path: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyruncd.containers.archive", mode, str(rootfs), path,
        stdin=asyncio.subprocess.PIPE if mode == "put" else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def copy_from(ctx: Context, text: str, path: str) -> AsyncIterator[bytes]:
    if not path.startswith("/"):
        path = "/" + path
    async with rootfs_view(ctx, text) as rootfs:
        proc = await _helper("get", rootfs, path)
        assert proc.stdout is not None and proc.stderr is not None  # piped above
        try:
            while chunk := await proc.stdout.read(1 << 20):
                yield chunk
            err = await proc.stderr.read()
            if await proc.wait() != 0:
                raise NotFound(err.decode(errors="replace").strip())
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


async def copy_to(ctx: Context, text: str, path: str, chunks: AsyncIterator[bytes]) -> None:
    if not path.startswith("/"):
        path = "/" + path
    async with rootfs_view(ctx, text) as rootfs:
        proc = await _helper("put", rootfs, path)
        assert proc.stdin is not None and proc.stderr is not None  # piped above
        try:
            async for data in chunks:
                proc.stdin.write(data)
                await proc.stdin.drain()
            proc.stdin.close()
            err = await proc.stderr.read()
            if await proc.wait() != 0:
                raise InvalidArgument(err.decode(errors="replace").strip())
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
