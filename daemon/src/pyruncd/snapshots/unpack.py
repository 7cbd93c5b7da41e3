"""Apply one layer tar to an empty directory, in the form overlayfs reads as a layer.

OCI whiteouts become overlay ones: `.wh.NAME` a 0:0 character device NAME, `.wh..wh..opq`
the xattr trusted.overlay.opaque=y on its directory. Nothing is ever written through a
symlink or outside the directory: absolute or `..` names, links whose target leaves
the layer, writes through a symlink and device nodes are refused with UnsafeLayer.
Implicit parent directories take their owner and mode from the layers below, so the
merged view keeps them (e.g. /tmp stays 1777).
"""

import gzip
import hashlib
import os
import posixpath
import shutil
import stat
import tarfile
from pathlib import Path
from typing import IO, BinaryIO, Protocol, cast

from ..errors import DigestMismatch, InvalidArgument, PyruncdError, UnsafeLayer

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_COPY_CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class HashingReader:
    """Reads through to `raw`, hashing what passes: the layer's diff id."""

    def __init__(self, raw: Readable):
        self.raw = raw
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.hash.update(data)
        return data

    def drain(self) -> None:
        while self.read(_COPY_CHUNK):
            pass


def decompressed(f: BinaryIO) -> Readable:
    """The uncompressed stream of a layer blob, by its magic bytes (gzip, zstd or plain tar)."""
    head = f.read(4)
    f.seek(0)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")
    if head == b"\x28\xb5\x2f\xfd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(f, read_size=_COPY_CHUNK)
    return f


def _clean(name: str, what: str) -> list[str]:
    """Path components of a member name; refuses absolute names and any `..`."""
    if name.startswith("/"):
        raise UnsafeLayer(f"refusing {what} {name!r}: absolute path (path traversal)")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayer(f"refusing {what} {name!r}: path traversal")
    return parts


class _Applier:
    def __init__(self, dest: Path, lowers: list[Path]):
        self.dest = str(dest)
        self.lowers = [str(p) for p in lowers]
        self.dir_times: list[tuple[str, float]] = []
        self.size = 0
        self.member = ""  # the entry being applied, for errors: they never name our own paths

    def _parent(self, parts: list[str], name: str) -> str:
        """The real directory that will hold parts[-1]; made if missing, never through a symlink."""
        cur = self.dest
        for i, comp in enumerate(parts[:-1]):
            cur = os.path.join(cur, comp)
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                self._implicit_dir(cur, parts[: i + 1])
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(cur)
                base = posixpath.join(*parts[:i]) if i else ""
                resolved = posixpath.normpath(posixpath.join(base, target))
                escapes = target.startswith("/") or resolved == ".." or resolved.startswith("../")
                kind = "escapes the layer" if escapes else "would be written through"
                raise UnsafeLayer(f"refusing {name!r}: symlink {'/'.join(parts[: i + 1])} -> {target} {kind}")
            if not stat.S_ISDIR(st.st_mode):
                os.unlink(cur)
                self._implicit_dir(cur, parts[: i + 1])
        return cur

    def _implicit_dir(self, path: str, parts: list[str]) -> None:
        mode, uid, gid = 0o755, 0, 0
        rel = os.path.join(*parts)
        for lower in self.lowers:
            try:
                st = os.lstat(os.path.join(lower, rel))
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                mode, uid, gid = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
            break
        os.mkdir(path)
        os.chown(path, uid, gid)
        os.chmod(path, mode)

    @staticmethod
    def _remove(path: str) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    def _attrs(self, path: str, m: tarfile.TarInfo) -> None:
        os.lchown(path, m.uid, m.gid)
        for key, value in m.pax_headers.items():
            if key.startswith("SCHILY.xattr."):
                attr = key[len("SCHILY.xattr."):]
                # overlay's own attributes in a layer could redirect or hide lower content
                if attr.startswith("trusted.overlay."):
                    continue
                os.setxattr(path, attr, value.encode("utf-8", "surrogateescape"), follow_symlinks=False)
        if not m.issym():
            os.chmod(path, stat.S_IMODE(m.mode))  # after chown, which clears setuid bits
        if m.isdir():
            self.dir_times.append((path, m.mtime))
        else:
            os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)

    def apply(self, tf: tarfile.TarFile) -> None:
        for m in tf:
            self.member = m.name
            parts = _clean(m.name, "entry")
            if not parts:
                if m.isdir():  # the layer's root entry: its attributes are the root's
                    self._attrs(self.dest, m)
                continue
            base = parts[-1]
            if base == OPAQUE:
                parent = self._parent(parts, m.name)
                os.setxattr(parent, "trusted.overlay.opaque", b"y")
                continue
            if base.startswith(WHITEOUT_PREFIX):
                hidden = base[len(WHITEOUT_PREFIX):]
                if hidden in ("", ".", ".."):  # would remove the directory itself or its parent
                    raise UnsafeLayer(f"refusing {m.name!r}: invalid whiteout name")
                parent = self._parent(parts, m.name)
                path = os.path.join(parent, hidden)
                self._remove(path)
                os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))
                continue
            if m.ischr() or m.isblk():
                raise UnsafeLayer(f"refusing {m.name!r}: device node")
            path = os.path.join(self._parent(parts, m.name), base)
            if m.isdir():
                try:
                    st = os.lstat(path)
                    if not stat.S_ISDIR(st.st_mode):
                        os.unlink(path)
                        os.mkdir(path)
                except FileNotFoundError:
                    os.mkdir(path)
                self._attrs(path, m)
                continue
            self._remove(path)
            if m.isreg():
                src = tf.extractfile(m)
                assert src is not None  # a regular member always has its file
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out, _COPY_CHUNK)
                self.size += m.size
            elif m.issym():
                os.symlink(m.linkname, path)
            elif m.islnk():
                tparts = _clean(m.linkname, f"hardlink {m.name!r} to")
                if not tparts:
                    raise UnsafeLayer(f"refusing hardlink {m.name!r}: empty target")
                target = os.path.join(self._parent(tparts, m.linkname), tparts[-1])
                if not os.path.lexists(target):
                    raise UnsafeLayer(f"refusing hardlink {m.name!r} -> {m.linkname!r}: target is not in the layer")
                os.link(target, path, follow_symlinks=False)
                continue  # a hardlink shares its target's inode and attributes
            elif m.isfifo():
                os.mkfifo(path)
            else:
                raise UnsafeLayer(f"refusing {m.name!r}: unsupported tar entry type {m.type!r}")
            self._attrs(path, m)
        # directory times last: creating their children moved them
        for path, mtime in reversed(self.dir_times):
            os.utime(path, (mtime, mtime))


def apply_layer(blob: BinaryIO, dest: Path, diff_id: str, lowers: list[Path]) -> int:
    """Unpack `blob` (compressed or not) into the empty `dest`; verify its diff id; return the bytes written."""
    reader = HashingReader(decompressed(blob))
    applier = _Applier(dest, lowers)
    try:
        # stream mode only reads: the seek, tell and write the stub asks for are never called
        with tarfile.open(fileobj=cast(IO[bytes], reader), mode="r|", bufsize=_COPY_CHUNK) as tf:
            applier.apply(tf)
        reader.drain()
    except PyruncdError:
        raise
    except OSError as e:
        if e.strerror is None:  # gzip's BadGzipFile and the like: about the stream, no path in them
            raise InvalidArgument(f"layer {diff_id}: cannot unpack: {e}") from None
        where = f" {applier.member!r}" if applier.member else ""
        raise InvalidArgument(f"layer {diff_id}: cannot unpack{where}: {e.strerror}") from None
    except Exception as e:  # tarfile, gzip and zstandard each have their own error types
        raise InvalidArgument(f"layer {diff_id}: cannot unpack: {e}") from None
    got = "sha256:" + reader.hash.hexdigest()
    if got != diff_id:
        raise DigestMismatch(f"layer {diff_id}: uncompressed content hashes to {got}")
    return applier.size
