"""The build context as it arrives: tar chunks from the client, bounded, unpacked as they come into a
BuildContext (context.read_tar_context in a thread: hostile members refused, files hashed as they are
written), less what its .dockerignore names (dockerignore.py: the Dockerfile and .dockerignore always
kept); and the Dockerfile's text.

The context is written once and read once: no spool file, no second pass for the cache's digests.
"""

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

from pyrunc_dockerignore import DOCKERIGNORE, IgnoreFileError, IgnoreMatcher, read_ignore_file

from ..threads import in_thread
from .context import BuildContext, ContextLimits, read_tar_context
from .errors import ContextError
from .progress import BuildOptions

MAX_DOCKERFILE = 4 << 20
_IN_HAND = 4  # chunks received and not yet unpacked; past that the call's flow control holds the client


class _Feed:
    """The chunks, from the event loop to the unpacking thread as a file it reads."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._changed = threading.Condition()
        self._ended = False  # no more chunks will come
        self.stopped = False  # the reader is done: what comes now is dropped
        self._current, self._offset = b"", 0  # the chunk being read, and how far

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (one chunk's rest at most; b"" at the end): tarfile's stream reads."""
        if self._offset == len(self._current):
            with self._changed:
                while not self._chunks and not self._ended:
                    self._changed.wait()
                if not self._chunks:
                    return b""
                self._current, self._offset = self._chunks.popleft(), 0
                self._changed.notify_all()
        start, left = self._offset, len(self._current) - self._offset
        self._offset += left if size < 0 else min(size, left)
        if start == 0 and self._offset == len(self._current):
            return self._current  # the whole chunk: no copy
        return self._current[start:self._offset]

    def offer(self, chunk: bytes) -> bool:
        """Hand a chunk over if there is room (or drop it: the reader is done); False when full."""
        with self._changed:
            if len(self._chunks) >= _IN_HAND and not self.stopped:
                return False
            if not self.stopped:
                self._chunks.append(chunk)
                self._changed.notify_all()
            return True

    def put(self, chunk: bytes) -> None:
        """Hand a chunk over, waiting (in a thread) for room."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._chunks) < _IN_HAND or self.stopped)
        self.offer(chunk)

    def end(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self.stopped = True
            self._chunks.clear()
            self._changed.notify_all()


def _unpack(feed: _Feed, staging: Path, limits: ContextLimits) -> BuildContext:
    try:
        return read_tar_context(feed, staging, limits=limits)  # type: ignore[arg-type]  # tarfile's "r|" only reads
    finally:
        feed.stop()


async def receive_context(chunks: AsyncIterator[bytes], work: Path, limits: ContextLimits) -> BuildContext:
    """The context tar from `chunks`, unpacked under `work` (a private directory the caller removes) as it
    arrives; past limits.max_bytes of tar it is refused before more is read."""
    staging = work / "context"
    staging.mkdir(mode=0o700)
    feed = _Feed()
    reader: asyncio.Future[BuildContext] | None = None
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_bytes:
                raise ContextError(f"build context is larger than the maximum of {limits.max_bytes} bytes")
            if not chunk:
                continue
            if reader is None:
                reader = asyncio.ensure_future(in_thread(_unpack, feed, staging, limits))
            if reader.done() and reader.exception() is not None:
                break  # a member refused: the call's status says why, without reading the rest
            if not feed.offer(chunk):
                await in_thread(feed.put, chunk)
        feed.end()
        if reader is None:
            return BuildContext(staging, {}, {})
        return await reader
    except BaseException:
        feed.stop()  # the reader ends at its next read, before the caller removes `work`
        feed.end()
        if reader is not None:
            await asyncio.gather(reader, return_exceptions=True)
        raise


def dockerfile_text(context: BuildContext, options: BuildOptions) -> str:
    if options.dockerfile_content is not None:
        data = options.dockerfile_content
    elif context.entry(options.dockerfile) is None:
        raise ContextError(f"Cannot locate specified Dockerfile: {options.dockerfile}")
    else:
        data = context.read_bytes(options.dockerfile, max_bytes=MAX_DOCKERFILE)
    return data.decode("utf-8", errors="replace")


def without_ignored(context: BuildContext, options: BuildOptions) -> BuildContext:
    """The context less what its .dockerignore names, as the docker CLI sends it."""
    if context.entry(DOCKERIGNORE) is None:
        return context
    text = context.read_bytes(DOCKERIGNORE, max_bytes=MAX_DOCKERFILE).decode("utf-8", errors="replace")
    try:
        patterns = read_ignore_file(text)
    except IgnoreFileError as error:
        raise ContextError(f"failed to parse {DOCKERIGNORE}: {error}") from None
    return context.without(IgnoreMatcher.for_build(patterns, options.dockerfile))
