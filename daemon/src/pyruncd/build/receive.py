"""The build context as it arrives: tar chunks from the client, bounded, spooled, then read as a
BuildContext (context.read_tar_context: hostile members refused), less what its .dockerignore names
(dockerignore.py: the Dockerfile and .dockerignore always kept); and the Dockerfile's text.
"""

import os
from collections.abc import AsyncIterator
from pathlib import Path

from pyrunc_dockerignore import DOCKERIGNORE, IgnoreFileError, IgnoreMatcher, read_ignore_file

from ..threads import in_thread
from .context import BuildContext, ContextLimits, read_tar_context
from .errors import ContextError
from .progress import BuildOptions

MAX_DOCKERFILE = 4 << 20
_SPOOL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


async def receive_context(chunks: AsyncIterator[bytes], work: Path, limits: ContextLimits) -> BuildContext:
    """The context tar from `chunks`, spooled under `work` (a private directory the caller removes);
    past limits.max_bytes of tar it is refused before more is read."""
    spool, staging = work / "context.tar", work / "context"
    staging.mkdir(mode=0o700)
    received = 0
    with os.fdopen(os.open(spool, _SPOOL_FLAGS, 0o600), "wb") as out:
        async for chunk in chunks:
            received += len(chunk)
            if received > limits.max_bytes:
                raise ContextError(f"build context is larger than the maximum of {limits.max_bytes} bytes")
            await in_thread(out.write, chunk)
    if received == 0:
        return BuildContext(staging, {}, {})
    with open(spool, "rb") as stream:
        context = await in_thread(lambda: read_tar_context(stream, staging, limits=limits))
    spool.unlink()
    return context


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
