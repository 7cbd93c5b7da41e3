"""Save: images as one tar (docker-archive with an OCI layout beside it, or the OCI layout of the stored
blobs), streamed out in chunks. The tar is spooled under the daemon's tmp/ while the blobs it names are
leased, then read back; the spool goes when the stream ends or is cut off."""

import asyncio
import os
import tempfile
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

from ..errors import InvalidArgument
from ..threads import in_thread
from . import archive
from .store import ImageStore

CHUNK = 1 << 20


def exports(store: ImageStore, references: Sequence[str]) -> list[archive.Export]:
    """One Export per image, under the tags it was named by (an id names none), in the order asked."""
    if not references:
        raise InvalidArgument("save: give at least one image")
    found: dict[str, archive.Export] = {}
    for text in references:
        image_id, by_name = store.resolve_name(text)
        rec = store.get(image_id)
        data, manifest = store.manifest(rec)
        exp = found.setdefault(image_id, archive.Export(rec.manifest_digest, data, manifest, store.config(rec), []))
        if by_name is not None and by_name.tag and by_name not in exp.names:
            exp.names.append(by_name)
    return list(found.values())


async def save(store: ImageStore, references: Sequence[str], *, oci: bool, tmp: Path) -> AsyncGenerator[bytes, None]:
    """The tar's bytes, CHUNK at a time. Close the iterator (contextlib.aclosing) to drop the spool early."""
    images = exports(store, references)
    fd, spool = tempfile.mkstemp(dir=tmp, prefix="save-", suffix=".tar")
    os.close(fd)
    try:
        with store.leases.hold() as lease:
            for exp in images:
                for d in [exp.manifest_digest, exp.manifest.config.digest, *(x.digest for x in exp.manifest.layers)]:
                    lease.add(d)
            await in_thread(archive.save, images, store.content, Path(spool), oci, tmp)
        with open(spool, "rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
    finally:
        os.unlink(spool)
