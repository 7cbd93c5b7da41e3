"""A layer from a directory of changes: an overlay upper dir written as an OCI layer tar.

The upper dir is in overlay form (a deleted entry is a 0:0 character device, a directory that hides
what is below it has trusted.overlay.opaque=y, or user.overlay.opaque=y under `userxattr`); the tar
says the same in OCI form: `.wh.NAME` and `.wh..wh..opq`. The upper dir of a container is the
container's to write, so it is walked on descriptors: every entry opened below its parent's
descriptor with O_NOFOLLOW, symlinks read and never followed, only regular files read (never a fifo or
a device), and each file's bytes bounded by the size its descriptor reports, padded with zeros if it
shrank since, cut if it grew.

The tar is deterministic: entries in sorted order (a directory, then its opaque marker, then its
children), owners as numbers with no names, no atime or ctime, only `security.capability` among the
xattrs (docker's choice), mtimes as they are (docker's classic builder keeps them; pass `clamp_mtime`
to clamp them as BuildKit's SOURCE_DATE_EPOCH does). The same changes give the same diff id.
"""

import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, cast

from ..content import BlobWriter, ContentStore
from ..errors import UnsafeLayer
from .unpack import OPAQUE, WHITEOUT_PREFIX

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
KEPT_XATTRS = ("security.capability",)
_CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, kw_only=True)
class LayerBlob:
    """A layer written into the content store."""

    diff_id: str      # sha256 of the uncompressed tar: what the image config's rootfs lists
    digest: str       # the blob's digest (= diff_id when uncompressed)
    size: int         # the blob's size: what the manifest's descriptor says
    media_type: str   # OCI_LAYER or OCI_LAYER_GZIP
    files_size: int   # bytes of regular file content: the snapshot's size
    empty: bool = False  # no entries: docker records no layer for it, only an empty_layer history entry


@dataclass(frozen=True, kw_only=True)
class TarStats:
    files_size: int   # bytes of regular file content
    entries: int


def _getxattr(fd: int, name: str) -> bytes | None:
    try:
        return os.getxattr(fd, name)
    except OSError:  # ENODATA, or a file system without xattrs
        return None


def is_opaque(fd: int) -> bool:
    return any(_getxattr(fd, x) == b"y" for x in OPAQUE_XATTRS)


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


class _BoundedFile:
    """Exactly `size` bytes of an open file: zeros past a shrink, nothing past a growth."""

    def __init__(self, fd: int, size: int):
        self.fd = fd
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = os.read(self.fd, n) if n else b""
        if n and not data:
            data = b"\0" * n
        self.left -= len(data)
        return data


class _Walker:
    def __init__(self, tf: tarfile.TarFile, clamp_mtime: int | None, overlay_form: bool,
                 placeholders: frozenset[str]):
        self.tf = tf
        self.placeholders = placeholders
        self.clamp = clamp_mtime
        self.overlay_form = overlay_form
        self.links: dict[tuple[int, int], str] = {}
        self.files_size = 0
        self.entries = 0

    def _info(self, name: str, st: os.stat_result) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.mode = stat.S_IMODE(st.st_mode)
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname = ti.gname = ""
        mtime = int(st.st_mtime)
        ti.mtime = min(mtime, self.clamp) if self.clamp is not None else mtime
        return ti

    def _xattrs(self, ti: tarfile.TarInfo, fd: int) -> None:
        headers = {}
        for x in KEPT_XATTRS:
            value = _getxattr(fd, x)
            if value is not None:
                headers["SCHILY.xattr." + x] = value.decode("utf-8", "surrogateescape")
        if headers:
            ti.pax_headers = headers

    def walk_dir(self, dfd: int, prefix: str) -> None:
        """Add the entries of the directory open at `dfd`; `prefix` is its name in the tar ("" or "a/b/")."""
        names = sorted(os.listdir(dfd), key=os.fsencode)
        for name in names:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            path = prefix + name
            if self.overlay_form and is_whiteout(st):
                ti = self._info(prefix + WHITEOUT_PREFIX + name, st)
                ti.mode = 0o600  # as docker writes them: empty regular files
                self._add(ti)
            elif stat.S_ISDIR(st.st_mode):
                fd = os.open(name, _DIR_FLAGS, dir_fd=dfd)
                try:
                    if only_placeholders(fd, path, self.placeholders):
                        continue  # copied up only to hold them
                    ti = self._info(path, os.fstat(fd))
                    ti.type = tarfile.DIRTYPE
                    self._xattrs(ti, fd)
                    self._add(ti)
                    if self.overlay_form and is_opaque(fd):
                        # as docker writes it: the directory's permissions, owner and time
                        marker = self._info(path + "/" + OPAQUE, st)
                        marker.mode &= 0o777
                        self._add(marker)
                    self.walk_dir(fd, path + "/")
                finally:
                    os.close(fd)
            elif stat.S_ISREG(st.st_mode):
                if not is_placeholder(path, st, self.placeholders):
                    self._file(dfd, name, path, st)
            elif stat.S_ISLNK(st.st_mode):
                ti = self._info(path, st)
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(name, dir_fd=dfd)
                self._add(ti)
            else:  # fifo, device or socket: never opened
                ti = self._info(path, st)
                if stat.S_ISFIFO(st.st_mode):
                    ti.type = tarfile.FIFOTYPE
                elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    ti.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
                    ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
                else:
                    continue  # sockets are not archived (docker skips them too)
                self._add(ti)

    def _file(self, dfd: int, name: str, path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and key in self.links:
            ti = self._info(path, st)
            ti.type = tarfile.LNKTYPE
            ti.linkname = self.links[key]
            self._add(ti)
            return
        # O_NONBLOCK: if the entry was swapped for a fifo since the stat, the open does not hang
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dfd)
        try:
            fst = os.fstat(fd)
            if not stat.S_ISREG(fst.st_mode):
                return  # replaced under us: what is there now is no regular file, and is not read
            ti = self._info(path, fst)
            ti.size = fst.st_size
            self._xattrs(ti, fd)
            if fst.st_nlink > 1:
                self.links[(fst.st_dev, fst.st_ino)] = path
            self.files_size += fst.st_size
            self.entries += 1
            self.tf.addfile(ti, cast(IO[bytes], _BoundedFile(fd, fst.st_size)))
        finally:
            os.close(fd)

    def _add(self, ti: tarfile.TarInfo) -> None:
        self.entries += 1
        self.tf.addfile(ti)


def is_placeholder(path: str, st: os.stat_result, placeholders: frozenset[str]) -> bool:
    """An empty file made only to mount over (a container's /etc/hosts): no change of the container's."""
    return path in placeholders and stat.S_ISREG(st.st_mode) and st.st_size == 0


def only_placeholders(fd: int, path: str, placeholders: frozenset[str]) -> bool:
    """The directory open at `fd` holds placeholders and nothing else, and hides nothing (not opaque): the
    upper dir has it only for them."""
    if not any(p.startswith(path + "/") for p in placeholders) or is_opaque(fd):
        return False
    names = os.listdir(fd)
    return bool(names) and all(
        is_placeholder(f"{path}/{n}", os.stat(n, dir_fd=fd, follow_symlinks=False), placeholders) for n in names)


def write_layer_tar(upper: str | os.PathLike[str], out: IO[bytes], *, clamp_mtime: int | None = None,
                    overlay_form: bool = True, placeholders: frozenset[str] = frozenset()) -> TarStats:
    """Write the layer tar of the changes in `upper` to `out` (streamed). Without `overlay_form`, the
    tar of a plain tree (`export` of a mounted rootfs): no entry is read as a whiteout or opaque marker.
    `placeholders` ("etc/hosts"): left out when they are empty files, made only to mount over, and so is
    a directory that holds nothing else (the upper dir has it only for them)."""
    fd = os.open(upper, _DIR_FLAGS)
    try:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT, encoding="utf-8",
                          errors="surrogateescape") as tf:
            walker = _Walker(tf, clamp_mtime, overlay_form, placeholders)
            walker.walk_dir(fd, "")
        return TarStats(files_size=walker.files_size, entries=walker.entries)
    finally:
        os.close(fd)


class _Tee:
    """A write-only stream that hashes what passes on to `sink`: the diff id of the uncompressed tar."""

    def __init__(self, sink: Callable[[bytes], object]):
        self.sink = sink
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.sink(data)
        return len(data)

    def flush(self) -> None:
        pass


def write_layer(upper: str | os.PathLike[str], content: ContentStore, *, compress: bool = False,
                clamp_mtime: int | None = None, hold: Callable[[str], None] | None = None,
                placeholders: frozenset[str] = frozenset()) -> LayerBlob:
    """The changes in `upper` as a layer blob in the content store (blocking: run it in a thread).

    `compress` gives gzip (what registries hold; docker's classic builder pushes gzip), else the plain tar
    whose digest is its diff id. `hold(digest)` is a lease's add, called before the blob appears.
    `placeholders`: as write_layer_tar's."""
    with content.writer(hold=hold) as w:
        diff_id, stats = _write_through(upper, w, compress, clamp_mtime, placeholders)
        digest = w.commit()
        return LayerBlob(diff_id=diff_id, digest=digest, size=w.written,
                         media_type=OCI_LAYER_GZIP if compress else OCI_LAYER, files_size=stats.files_size,
                         empty=stats.entries == 0)


def _write_through(upper: str | os.PathLike[str], w: BlobWriter, compress: bool,
                   clamp_mtime: int | None, placeholders: frozenset[str]) -> tuple[str, TarStats]:
    if not compress:
        tee = _Tee(w.write)
        stats = write_layer_tar(upper, cast(IO[bytes], tee), clamp_mtime=clamp_mtime, placeholders=placeholders)
        return "sha256:" + tee.hash.hexdigest(), stats
    # mtime=0 and no file name in the gzip header: the same tar gives the same blob
    with gzip.GzipFile(fileobj=cast(IO[bytes], _Tee(w.write)), mode="wb", compresslevel=6, mtime=0) as gz:
        tee = _Tee(gz.write)
        stats = write_layer_tar(upper, cast(IO[bytes], tee), clamp_mtime=clamp_mtime, placeholders=placeholders)
    return "sha256:" + tee.hash.hexdigest(), stats


def prepare_adoption(upper: str | os.PathLike[str], placeholders: frozenset[str] = frozenset()) -> None:
    """Make a directory of changes (unmounted) what `Snapshotter.unpack` makes of its layer tar, so it can
    become a snapshot in place: the xattrs the tar would not carry dropped (overlay's own could redirect
    or hide lower content once it is a lower layer), opaque markers as trusted.overlay.opaque=y, device
    nodes other than whiteouts refused as unpacking refuses them, the root 0755 and root's, and the
    `placeholders` write_layer left out removed (with their directory, when it holds nothing else)."""
    fd = os.open(upper, _DIR_FLAGS)
    try:
        os.fchown(fd, 0, 0)
        os.fchmod(fd, 0o755)
        for x in os.listxattr(fd):
            os.removexattr(fd, x)
        _prepare_dir(fd, "", placeholders)
    finally:
        os.close(fd)


def _prepare_dir(dfd: int, prefix: str, placeholders: frozenset[str]) -> None:
    for name in sorted(os.listdir(dfd), key=os.fsencode):
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        if is_whiteout(st):
            continue
        if is_placeholder(prefix + name, st, placeholders):
            os.unlink(name, dir_fd=dfd)
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            raise UnsafeLayer(f"refusing {prefix + name!r}: device node")
        # the last component is not followed: a symlink's own xattrs are the ones read and removed
        at = f"/proc/self/fd/{dfd}/{name}"
        opaque = stat.S_ISDIR(st.st_mode) and any(
            _getxattr_at(at, x) == b"y" for x in OPAQUE_XATTRS)
        for x in os.listxattr(at, follow_symlinks=False):
            if x not in KEPT_XATTRS:
                os.removexattr(at, x, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(name, _DIR_FLAGS, dir_fd=dfd)
            try:
                if opaque:
                    os.setxattr(fd, OPAQUE_XATTRS[0], b"y")
                path = prefix + name
                emptied = only_placeholders(fd, path, placeholders)  # write_layer leaves it out too
                _prepare_dir(fd, path + "/", placeholders)
            finally:
                os.close(fd)
            if emptied:
                os.rmdir(name, dir_fd=dfd)


def _getxattr_at(path: str, name: str) -> bytes | None:
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None
