"""`import`: a tar of files (what `export` gives, plain or compressed) as a one-layer image.

The stream is spooled under the daemon's tmp/, then written uncompressed into the content store (its
digest is the layer's diff id) and unpacked as layers are, with the same refusals (`..` or absolute
names, links out of the layer, device nodes): a refused tar leaves no image, blob or snapshot.
"""

import bz2
import lzma
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, Sequence
from pathlib import Path
from typing import IO, cast

from ..content import ContentStore
from ..errors import InvalidArgument
from ..reference import Reference
from ..snapshots.diff import OCI_LAYER, LayerBlob
from ..snapshots.unpack import decompressed
from ..threads import in_thread
from .commit import HistoryEntry, NewImage, RunConfig, commit_image
from .store import ImageRecord, ImageStore, Lease

_CHUNK = 1 << 20


def _stage(spool: Path, content: ContentStore, lease: Lease) -> LayerBlob:
    """The spooled tar, decompressed (gzip, zstd, bzip2 or xz, as docker's import takes), as a blob."""
    with open(spool, "rb") as f:
        head = f.read(6)
        f.seek(0)
        src: IO[bytes]
        if head[:3] == b"BZh":
            src = bz2.BZ2File(f)
        elif head == b"\xfd7zXZ\x00":
            src = lzma.LZMAFile(f)
        else:
            src = cast(IO[bytes], decompressed(f))
        with content.writer(hold=lease.add) as w:
            try:
                shutil.copyfileobj(src, cast(IO[bytes], w), _CHUNK)
            except (OSError, EOFError, lzma.LZMAError) as e:
                raise InvalidArgument(f"import: cannot decompress the archive: {e}") from None
            digest = w.commit()
            return LayerBlob(diff_id=digest, digest=digest, size=w.written, media_type=OCI_LAYER, files_size=0)


async def import_tar(store: ImageStore, chunks: AsyncIterable[bytes], tmp: Path, *, config: RunConfig,
                     created: str, comment: str, tags: Sequence[Reference] = ()) -> ImageRecord:
    fd, spool = tempfile.mkstemp(dir=tmp, prefix="import-", suffix=".tar")
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in chunks:
                f.write(chunk)
        if os.path.getsize(spool) == 0:
            raise InvalidArgument("import: empty input: give a tar file, or a tar on standard input with -")
        with store.leases.hold() as lease:
            layer = await in_thread(_stage, Path(spool), store.content, lease)
            lease.add(layer.diff_id)
            await store.snapshots.unpack(layer.diff_id, "", layer.diff_id, store.content.path(layer.digest))
            new = NewImage(parent=None, layers=[layer], config=config, created=created, comment=comment, tags=tags,
                           history=[HistoryEntry(created=created, comment=comment)])
            return commit_image(store, new, lease)
    finally:
        os.unlink(spool)
