"""COPY and ADD: sources from the build context (or another stage's or image's file system, read as a
context) written into a step's root file system, whose upper dir then becomes the layer.

Docker's rules: a relative destination is under WORKDIR; a destination ending in `/`, or more than one
source, is a directory; a directory source has its contents copied, not itself; missing parent
directories are made 0755. New files belong to 0:0 unless `--chown` (numbers, or names looked up in the
image's own /etc/passwd and /etc/group, read as files: no NSS); `--chmod` sets the copied entries' mode.
ADD extracts a local tar archive (plain, gzip, bzip2 or xz) into the destination, through the unpacking
of image layers (snapshots/unpack.py: no absolute or `..` names, no writes through links, no devices).

The destination is resolved in the root file system on descriptors, symlinks expanded with that root
as / (containers/archive.py's open_in_root): an image's symlink cannot steer a write to a host file.
"""

import bz2
import hashlib
import lzma
import os
import posixpath
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..containers.archive import open_in_root
from ..errors import InvalidArgument
from ..snapshots.unpack import apply_layer, decompressed
from . import instructions as ins
from .add_url import Fetched, set_mtime
from .context import BuildContext, EntryKind, read_directory_context
from .errors import ContextError
from .sources import ResolvedSource

_CHUNK = 1 << 20
_TABLE_MAX = 1 << 20


@dataclass(frozen=True, kw_only=True)
class Owner:
    uid: int
    gid: int


def _table(root_fd: int, name: str) -> dict[str, list[str]]:
    """The image's /etc/passwd or /etc/group by name (read as a file, never through NSS)."""
    try:
        fd = open_in_root(root_fd, ["etc", name])
    except OSError:
        return {}
    try:
        with open(f"/proc/self/fd/{fd}", "rb") as file:
            text = file.read(_TABLE_MAX).decode(errors="replace")
    except OSError:
        return {}
    finally:
        os.close(fd)
    rows = [line.split(":") for line in text.splitlines()]
    return {row[0]: row for row in reversed(rows) if len(row) > 3 and row[2].isdigit()}


def resolve_owner(root_fd: int, chown: str | None) -> Owner:
    """--chown's USER[:GROUP]: numbers, or names of the image's; a user alone gives its primary group."""
    if not chown:
        return Owner(uid=0, gid=0)
    user, _, group = chown.partition(":")
    if user.isdigit():
        uid, primary = int(user), int(user)
    else:
        row = _table(root_fd, "passwd").get(user)
        if row is None:
            raise InvalidArgument("unable to convert uid/gid chown string to host mapping: "
                                  f"can't find uid for user {user}: no such user: {user}")
        uid, primary = int(row[2]), int(row[3]) if row[3].isdigit() else int(row[2])
    if not group:
        return Owner(uid=uid, gid=primary)
    if group.isdigit():
        return Owner(uid=uid, gid=int(group))
    found = _table(root_fd, "group").get(group)
    if found is None:
        raise InvalidArgument("unable to convert uid/gid chown string to host mapping: "
                              f"can't find gid for group {group}: no such group: {group}")
    return Owner(uid=uid, gid=int(found[2]))


def parse_chmod(chmod: str | None) -> int | None:
    if not chmod:
        return None
    try:
        mode = int(chmod, 8)
    except ValueError:
        raise InvalidArgument(f"invalid chmod parameter: {chmod}") from None
    if mode > 0o7777:
        raise InvalidArgument(f"invalid chmod parameter: {chmod}")
    return mode


def _parts(path: str) -> list[str]:
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


class RootWriter:
    """Writes into a root file system through descriptors, owners as numbers."""

    def __init__(self, root_fd: int, owner: Owner, chmod: int | None) -> None:
        self.root_fd = root_fd
        self.owner = owner
        self.chmod = chmod

    def is_dir(self, path: str) -> bool:
        try:
            fd = open_in_root(self.root_fd, _parts(path))
        except OSError:
            return False
        try:
            return stat.S_ISDIR(os.fstat(fd).st_mode)
        finally:
            os.close(fd)

    def directory(self, path: str, mode: int = 0o755, *, copied: bool = False) -> int:
        """An O_PATH descriptor of the directory `path`, made (and its parents) where missing."""
        parts = _parts(path)
        for depth in range(1, len(parts) + 1):
            try:
                os.close(open_in_root(self.root_fd, parts[:depth]))
                continue
            except FileNotFoundError:
                pass
            parent = open_in_root(self.root_fd, parts[: depth - 1])
            try:
                name = parts[depth - 1]
                os.mkdir(name, 0o700, dir_fd=parent)
                own = mode if copied and depth == len(parts) else 0o755
                os.chown(name, self.owner.uid, self.owner.gid, dir_fd=parent, follow_symlinks=False)
                os.chmod(f"/proc/self/fd/{parent}/{name}", self._mode(own) if copied else own)
            finally:
                os.close(parent)
        fd = open_in_root(self.root_fd, parts)
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            raise InvalidArgument(f"cannot copy to {path}: not a directory")
        return fd

    def _mode(self, mode: int) -> int:
        return self.chmod if self.chmod is not None else mode & 0o7777

    def _clear(self, dir_fd: int, name: str) -> None:
        try:
            info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            raise InvalidArgument(f"cannot overwrite directory {name!r} with a non-directory")
        os.unlink(name, dir_fd=dir_fd)

    def file(self, dir_fd: int, name: str, source: BinaryIO, mode: int) -> None:
        self._clear(dir_fd, name)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                out.write(chunk)
            os.fchown(fd, self.owner.uid, self.owner.gid)
            os.fchmod(fd, self._mode(mode))

    def symlink(self, dir_fd: int, name: str, target: str) -> None:
        self._clear(dir_fd, name)
        os.symlink(target, name, dir_fd=dir_fd)
        os.chown(name, self.owner.uid, self.owner.gid, dir_fd=dir_fd, follow_symlinks=False)


def _copy_tree(writer: RootWriter, context: BuildContext, top: str, dest: str) -> None:
    """The entries below `top` (a directory of the context, "." for its root) into the directory `dest`."""
    os.close(writer.directory(dest))
    prefix = "" if top == "." else top + "/"
    for entry in context.below(top):
        if entry.path == top:
            continue
        relative = entry.path[len(prefix):]
        parent, _, name = posixpath.join(dest, relative).rpartition("/")
        if entry.kind is EntryKind.DIRECTORY:
            os.close(writer.directory(posixpath.join(parent or "/", name), entry.mode, copied=True))
            continue
        dir_fd = writer.directory(parent or "/")
        try:
            if entry.kind is EntryKind.SYMLINK:
                writer.symlink(dir_fd, name, entry.link_target)
            else:
                with context.open(entry.path) as source:
                    writer.file(dir_fd, name, source, entry.mode)
        finally:
            os.close(dir_fd)


def _archive_kind(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if len(head) > 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _plain_tar(source: BinaryIO, kind: str) -> BinaryIO:
    if kind == "bzip2":
        return bz2.BZ2File(source)  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(source)  # type: ignore[return-value]
    return source


def _extract(context: BuildContext, path: str, kind: str, staging: Path) -> BuildContext:
    """A local archive unpacked as image layers are (snapshots/unpack.py), read back as a context."""
    digest = hashlib.sha256()
    with context.open(path) as source:
        stream = decompressed(_plain_tar(source, kind))
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    with context.open(path) as source:
        apply_layer(_plain_tar(source, kind), staging, "sha256:" + digest.hexdigest(), [])
    return read_directory_context(staging)


def copy_sources(root: Path, context: BuildContext, resolved: Sequence[ResolvedSource],
                 instruction: ins.FileTransfer, workdir: str, scratch: Path, fetched: Sequence[Fetched] = ()) -> None:
    """Write the sources (and inline heredoc sources, and ADD's downloads) into the root file system at `root`."""
    destination = posixpath.join(workdir or "/", instruction.destination)
    many = len(resolved) + len(instruction.inline_sources) + len(fetched) > 1
    if many and not instruction.destination.endswith("/"):
        raise InvalidArgument(f"When using {instruction.keyword} with more than one source file, the destination "
                              "must be a directory and end with a /")
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        writer = RootWriter(root_fd, resolve_owner(root_fd, instruction.chown), parse_chmod(instruction.chmod))
        into_directory = instruction.destination.endswith("/") or many or writer.is_dir(destination)
        for source in resolved:
            entry = context.entry(source.target)
            if entry is None or entry.kind is EntryKind.DIRECTORY:
                _copy_tree(writer, context, source.target, destination)
                continue
            if entry.kind is not EntryKind.FILE:
                raise ContextError(f"{source.name}: cannot copy a {entry.kind.value} that points nowhere")
            with context.open(entry.path) as file:
                kind = _archive_kind(file.read(512)) if isinstance(instruction, ins.Add) else None
            if kind is not None:
                staging = Path(tempfile.mkdtemp(dir=scratch, prefix="add-"))
                _copy_tree(writer, _extract(context, entry.path, kind, staging), ".", destination)
                continue
            target = posixpath.join(destination, posixpath.basename(source.name)) if into_directory else destination
            parent, _, name = target.rpartition("/")
            dir_fd = writer.directory(parent or "/")
            try:
                with context.open(entry.path) as file:
                    writer.file(dir_fd, name, file, entry.mode)
            finally:
                os.close(dir_fd)
        for heredoc in instruction.inline_sources:
            target = posixpath.join(destination, heredoc.name) if into_directory else destination
            parent, _, name = target.rpartition("/")
            dir_fd = writer.directory(parent or "/")
            inline = scratch / f"heredoc-{heredoc.name}"
            inline.write_text(heredoc.body())
            try:
                with open(inline, "rb") as file:
                    writer.file(dir_fd, name, file, 0o644)
            finally:
                os.close(dir_fd)
        for download in fetched:
            if into_directory and not download.name:
                raise InvalidArgument(f"cannot determine filename from url: {download.url}")
            target = posixpath.join(destination, download.name) if into_directory else destination
            parent, _, name = target.rpartition("/")
            dir_fd = writer.directory(parent or "/")
            try:
                with open(download.path, "rb") as file:
                    writer.file(dir_fd, name, file, 0o600)  # not extracted, 0600: docker's
                set_mtime(dir_fd, name, download)
            finally:
                os.close(dir_fd)
    finally:
        os.close(root_fd)


def write_context_path(context: BuildContext, path: str, out: Path) -> None:
    """The context's `path` (a file, or a directory with all below it; "." for the root) written at `out`,
    a new host path: a `RUN --mount=type=bind` source (the staging directory holds no links)."""
    entry = context.entry(path)
    if entry is not None and entry.kind is EntryKind.FILE:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as file, context.open(path) as source:
            while chunk := source.read(_CHUNK):
                file.write(chunk)
            os.fchmod(fd, entry.mode & 0o7777)
        return
    out.mkdir(mode=0o755)
    out_fd = os.open(out, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _copy_tree(RootWriter(out_fd, Owner(uid=0, gid=0), None), context, path, "/")
    finally:
        os.close(out_fd)
    if entry is not None:
        os.chmod(out, entry.mode & 0o7777)


def make_directories(root: Path, path: str) -> None:
    """WORKDIR's directory (and its parents) in the root file system at `root`, root's, 0755, if missing."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.close(RootWriter(root_fd, Owner(uid=0, gid=0), None).directory(path))
    finally:
        os.close(root_fd)


def is_file_in_root(root: Path, path: str) -> bool:
    """Whether `path` (resolved in the root file system at `root`) is a regular file."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, _parts(path))
    except OSError:
        return False
    finally:
        os.close(root_fd)
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
