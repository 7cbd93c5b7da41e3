"""Layers from an in-memory description: tar members written verbatim, compressed reproducibly.

Paths are never normalised, so tests can craft hostile layers ("../x", "/abs", links that escape).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

# Every mtime and "created" in the fixtures: 2000-01-01T00:00:00Z, so builds are byte-identical.
EPOCH = 946684800
EPOCH_ISO = "2000-01-01T00:00:00Z"

EntryType = Literal["file", "dir", "symlink", "hardlink", "char", "block", "fifo"]
Compression = Literal["gzip", "zstd", "none"]

_TAR_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}

MEDIA_TYPES: dict[Compression, str] = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


@dataclass(frozen=True)
class Entry:
    """One tar member. `path` goes into the tar exactly as given; `linkname` is the target of links."""

    path: str
    type: EntryType
    mode: int
    data: bytes = b""
    linkname: str = ""
    uid: int = 0
    gid: int = 0
    devmajor: int = 0
    devminor: int = 0
    mtime: int = EPOCH


def file(path: str, data: bytes = b"", mode: int = 0o644, **kw) -> Entry:
    return Entry(path, "file", mode, data=data, **kw)


def directory(path: str, mode: int = 0o755, **kw) -> Entry:
    return Entry(path, "dir", mode, **kw)


def symlink(path: str, target: str, **kw) -> Entry:
    return Entry(path, "symlink", 0o777, linkname=target, **kw)


def hardlink(path: str, target: str, **kw) -> Entry:
    """A hard link to `target`, a path of an earlier member of the same layer (as tar stores it)."""
    return Entry(path, "hardlink", 0o644, linkname=target, **kw)


def device(path: str, kind: Literal["char", "block"], major: int, minor: int, mode: int = 0o666, **kw) -> Entry:
    return Entry(path, kind, mode, devmajor=major, devminor=minor, **kw)


def fifo(path: str, mode: int = 0o644, **kw) -> Entry:
    return Entry(path, "fifo", mode, **kw)


def whiteout(path: str, **kw) -> Entry:
    """The OCI whiteout deleting `path` from lower layers: an empty file `.wh.<name>` beside it."""
    parent, name = os.path.split(path.rstrip("/"))
    return file(os.path.join(parent, ".wh." + name), b"", 0o644, **kw)


def opaque(dir_path: str, **kw) -> Entry:
    """The OCI opaque whiteout: hides everything lower layers have under `dir_path`."""
    return file(os.path.join(dir_path.rstrip("/"), ".wh..wh..opq"), b"", 0o644, **kw)


def make_layer(entries: Iterable[Entry]) -> bytes:
    """An uncompressed PAX tar of `entries`, in the order given, with no host-dependent fields."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path)
            info.type = _TAR_TYPES[e.type]
            info.mode = e.mode
            info.uid, info.gid = e.uid, e.gid
            info.uname = info.gname = ""
            info.mtime = e.mtime
            info.linkname = e.linkname
            info.devmajor, info.devminor = e.devmajor, e.devminor
            if e.type == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def compress(data: bytes, compression: Compression = "gzip", level: int | None = None) -> bytes:
    """Reproducible compression: gzip with mtime 0 and no file name; zstd without a dictionary."""
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6 if level is None else level, mtime=0)
    if compression == "zstd":
        import zstandard  # only tests of zstd layers need it

        return zstandard.ZstdCompressor(level=3 if level is None else level).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"compression: unknown {compression!r} (gzip, zstd or none)")


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, eq=False)
class Layer:
    """A layer: its uncompressed tar plus how to compress it; digests are computed once, on demand."""

    tar: bytes
    created_by: str = ""
    compression: Compression = "gzip"
    level: int | None = None

    @classmethod
    def of(cls, entries: Iterable[Entry], created_by: str = "", **kw) -> Layer:
        return cls(make_layer(entries), created_by, **kw)

    @cached_property
    def diff_id(self) -> str:
        return sha256(self.tar)

    @cached_property
    def blob(self) -> bytes:
        return compress(self.tar, self.compression, self.level)

    @cached_property
    def digest(self) -> str:
        return sha256(self.blob)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.compression]

    def descriptor(self) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.blob)}
