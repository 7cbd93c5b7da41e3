"""Load: a docker-archive or OCI layout tar, streamed in by a client, into the store.

The stream is spooled to a file under the daemon's tmp/ (an archive is read by name, not in order),
every blob is staged and verified, then each image is unpacked and recorded under one lease, so a
refused or cut-off load leaves nothing that garbage collection keeps.
"""

import logging
import os
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidArgument
from ..reference import Reference
from ..threads import in_thread
from . import archive
from .manifest import host_platform
from .store import ImageStore

log = logging.getLogger("pyruncd.images")


@dataclass(frozen=True, kw_only=True)
class Loaded:
    """One image of the archive, as recorded: its id and the names it was loaded under."""

    image_id: str
    tags: list[Reference]

    def messages(self) -> list[str]:
        """docker load's lines for it."""
        return [f"Loaded image: {t.familiar}" for t in self.tags] or [f"Loaded image ID: {self.image_id}"]


async def load(store: ImageStore, chunks: AsyncIterable[bytes], tmp: Path) -> list[Loaded]:
    fd, spool = tempfile.mkstemp(dir=tmp, prefix="load-", suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in chunks:
                f.write(chunk)
        if os.path.getsize(spool) == 0:
            raise InvalidArgument("load: empty input: give a tar with -i or on standard input")
        loaded = []
        with store.leases.hold() as lease:
            staged = await in_thread(archive.stage, Path(spool), store.content, host_platform(), lease)
            for s in staged:
                await store.unpack(s.manifest, s.config, lease)
                rec = store.add(s.manifest_digest, s.manifest, s.config, tags=s.tags, extra_blobs=s.extra_blobs)
                loaded.append(Loaded(image_id=rec.id, tags=list(s.tags)))
        log.info("loaded", extra={"images": [m for x in loaded for m in x.messages()]})
        return loaded
    finally:
        os.unlink(spool)
