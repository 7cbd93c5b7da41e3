"""The build context: a directory or a tar stream read into an index of entries, bounded and safe.

- Entries are regular files, directories and symlinks (devices, fifos and sockets are left out). A symlink
  is kept as a link: nothing here opens a path through one.
- A tar context is refused, with one line, if a member name is absolute or climbs with `..`, if a member
  sits below a symlink or a file, or if a link points outside the context (moby's breakout checks). Its
  files are written to a private staging directory that only ever holds directories and regular files.
- A directory context's files are read where they are, opened without following links and checked to be
  the very files that were indexed (so a swap for a symlink between indexing and reading is caught).
- The total size of the files and the number of entries are bounded (ContextLimits).
- Sizes, modes and owners come from the tar headers or lstat; mtimes are never recorded: cache keys do
  not depend on them (pyruncd.build.sources).
- A tar context's files are hashed (sha256) as they are written, so a COPY's cache key never reads them again.
"""

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, BinaryIO

from pyrunc_dockerignore import IgnoreMatcher, clean_path

from pyruncd.build.errors import ContextError

_CHUNK = 1 << 20


class EntryKind(Enum):
    FILE = "file"
    DIRECTORY = "dir"
    SYMLINK = "symlink"


@dataclass(frozen=True, kw_only=True)
class ContextLimits:
    max_bytes: int = 16 << 30  # the sum of the files' sizes
    max_entries: int = 1_000_000


@dataclass(frozen=True, kw_only=True)
class ContextEntry:
    path: str  # relative to the context root, slash-separated, cleaned ("a/b.txt")
    kind: EntryKind
    mode: int  # permission bits, with setuid/setgid/sticky
    uid: int
    gid: int
    size: int = 0
    link_target: str = ""  # symlinks only, as written


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "."


class BuildContext:
    """The context's entries by path, and their bytes: files under `root`, opened safely."""

    def __init__(self, root: Path, entries: dict[str, ContextEntry], inodes: dict[str, tuple[int, int]],
                 digests: dict[str, str] | None = None) -> None:
        self.root = root
        self.entries = entries
        self._inodes = inodes  # path -> (st_dev, st_ino) of the file that was indexed
        self._digests = digests or {}  # path -> sha256 hex of a file's bytes, taken as it was written

    def content_digest(self, path: str) -> str | None:
        """The file's sha256 (hex) if it was taken as the file was written (a tar context's files)."""
        return self._digests.get(path)

    def __contains__(self, path: str) -> bool:
        return path in self.entries

    def entry(self, path: str) -> ContextEntry | None:
        return self.entries.get(path)

    def below(self, directory: str) -> Iterator[ContextEntry]:
        """Every entry under `directory` ("." for all), in path order."""
        prefix = "" if directory == "." else directory + "/"
        for path in sorted(self.entries):
            if path.startswith(prefix):
                yield self.entries[path]

    def open(self, path: str) -> BinaryIO:
        entry = self.entries.get(path)
        if entry is None or entry.kind is not EntryKind.FILE:
            raise ContextError(f'"{path}" is not a file in the build context')
        try:
            fd = os.open(self.root / path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            raise ContextError(f'cannot read "{path}" from the build context: {error.strerror}') from None
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != self._inodes[path]:
            os.close(fd)
            raise ContextError(f'"{path}" changed while the build context was read')
        return os.fdopen(fd, "rb")

    def read_bytes(self, path: str, *, max_bytes: int) -> bytes:
        """A small file's bytes (the Dockerfile, .dockerignore), refused past max_bytes."""
        with self.open(path) as file:
            data = file.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ContextError(f'"{path}" is larger than {max_bytes} bytes')
        return data

    def without(self, matcher: IgnoreMatcher) -> "BuildContext":
        """The context less what a .dockerignore leaves out (for contexts sent unfiltered)."""
        kept = {path: entry for path, entry in self.entries.items() if not matcher.ignores(path)}
        return BuildContext(self.root, kept, {path: self._inodes[path] for path in kept if path in self._inodes},
                            {path: self._digests[path] for path in kept if path in self._digests})


class _Index:
    """Entries as they are added, with the limits and the structural checks."""

    def __init__(self, limits: ContextLimits) -> None:
        self.limits = limits
        self.entries: dict[str, ContextEntry] = {}
        self.inodes: dict[str, tuple[int, int]] = {}
        self.total_bytes = 0

    def add(self, entry: ContextEntry) -> None:
        if entry.kind is EntryKind.FILE:
            self.total_bytes += entry.size
            if self.total_bytes > self.limits.max_bytes:
                raise ContextError(f"build context is larger than the maximum of {self.limits.max_bytes} bytes")
        if entry.path not in self.entries and len(self.entries) >= self.limits.max_entries:
            raise ContextError(f"build context has more than the maximum of {self.limits.max_entries} entries")
        self.entries[entry.path] = entry


def read_directory_context(
    root: Path, *, ignore: IgnoreMatcher | None = None, limits: ContextLimits | None = None
) -> BuildContext:
    """A directory as the docker CLI sends it: walked without following links, less what `ignore` leaves
    out (descending into an ignored directory only when an exclusion may re-include something in it)."""
    index = _Index(limits or ContextLimits())
    skipped: dict[str, os.stat_result] = {}  # ignored directories walked for what exclusions re-include

    def add(entry: ContextEntry) -> None:
        # a re-included path brings its ignored parent directories along, as the docker CLI's tar does
        missing, parent = [], _parent(entry.path)
        while parent in skipped and parent not in index.entries:
            missing.append(parent)
            parent = _parent(parent)
        for directory in reversed(missing):
            index.add(_entry(directory, EntryKind.DIRECTORY, skipped[directory]))
        index.add(entry)

    pending = [(Path(root), "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as listing:
            children = sorted(listing, key=lambda child: child.name)
        for child in children:
            path = prefix + child.name
            info = child.stat(follow_symlinks=False)
            ignored = ignore is not None and ignore.ignores(path)
            if stat.S_ISDIR(info.st_mode):
                if not ignored:
                    add(_entry(path, EntryKind.DIRECTORY, info))
                    pending.append((Path(child.path), path + "/"))
                elif ignore is not None and ignore.may_keep_below(path):
                    skipped[path] = info
                    pending.append((Path(child.path), path + "/"))
            elif ignored:
                continue
            elif stat.S_ISREG(info.st_mode):
                add(_entry(path, EntryKind.FILE, info, size=info.st_size))
                index.inodes[path] = (info.st_dev, info.st_ino)
            elif stat.S_ISLNK(info.st_mode):
                add(_entry(path, EntryKind.SYMLINK, info, link_target=os.readlink(child.path)))
    return BuildContext(Path(root), index.entries, index.inodes)


def _entry(path: str, kind: EntryKind, info: os.stat_result, *, size: int = 0, link_target: str = "") -> ContextEntry:
    return ContextEntry(
        path=path,
        kind=kind,
        mode=stat.S_IMODE(info.st_mode),
        uid=info.st_uid,
        gid=info.st_gid,
        size=size,
        link_target=link_target,
    )


def _refuse(message: str) -> ContextError:
    return ContextError(f"invalid build context: {message}")


def _member_path(name: str) -> str:
    """The member's cleaned relative path; an absolute name or one that climbs with `..` is refused."""
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise _refuse(f'"{name}" is outside of the context')
    return clean_path(name)


def _escapes(link_directory: str, target: str) -> bool:
    """moby's symlink check: the target, joined to the link's directory (an absolute one too: it will be
    resolved inside the container's rootfs), must not climb out of the root."""
    joined = clean_path((link_directory + "/" if link_directory != "." else "") + target.lstrip("/"))
    return joined == ".." or joined.startswith("../")


def _tar_entry(
    member: tarfile.TarInfo, path: str, kind: EntryKind, *, size: int = 0, link_target: str = ""
) -> ContextEntry:
    return ContextEntry(
        path=path,
        kind=kind,
        mode=stat.S_IMODE(member.mode),
        uid=member.uid,
        gid=member.gid,
        size=size,
        link_target=link_target,
    )


class _TarStager:
    def __init__(self, staging: Path, limits: ContextLimits) -> None:
        self.staging = staging
        self.index = _Index(limits)
        self.digests: dict[str, str] = {}

    def ensure_directories(self, path: str) -> None:
        """Index the member's missing parent directories; a parent that is a file or a link is refused."""
        parent = _parent(path)
        missing = []
        while parent != ".":
            existing = self.index.entries.get(parent)
            if existing is not None:
                if existing.kind is not EntryKind.DIRECTORY:
                    raise _refuse(f'"{path}" is below the {existing.kind.value} "{parent}"')
                break
            missing.append(parent)
            parent = _parent(parent)
        for directory in reversed(missing):
            self.index.add(ContextEntry(path=directory, kind=EntryKind.DIRECTORY, mode=0o755, uid=0, gid=0))
        (self.staging / _parent(path)).mkdir(parents=True, exist_ok=True)

    def replace(self, path: str, kind: EntryKind) -> None:
        existing = self.index.entries.get(path)
        if existing is not None and (existing.kind is EntryKind.DIRECTORY) != (kind is EntryKind.DIRECTORY):
            raise _refuse(f'"{path}" is both a directory and a non-directory')
        if existing is not None and existing.kind is EntryKind.FILE:
            os.unlink(self.staging / path)
            self.index.inodes.pop(path, None)
            self.digests.pop(path, None)

    def write(self, path: str, data: IO[bytes] | None, size: int) -> None:
        """The member's bytes into staging, hashed on the way (the cache key's content digest)."""
        fd = os.open(self.staging / path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as file:
            written = 0
            while data is not None and written < size:
                chunk = data.read(min(_CHUNK, size - written))
                if not chunk:
                    raise ContextError(f'build context tar ends inside "{path}"')
                file.write(chunk)
                digest.update(chunk)
                written += len(chunk)
            info = os.fstat(file.fileno())
        self.index.inodes[path] = (info.st_dev, info.st_ino)
        self.digests[path] = digest.hexdigest()

    def add(self, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        path = _member_path(member.name)
        if path == ".":
            return
        self.ensure_directories(path)
        if member.isdir():
            self.replace(path, EntryKind.DIRECTORY)
            (self.staging / path).mkdir(exist_ok=True)
            self.index.add(_tar_entry(member, path, EntryKind.DIRECTORY))
        elif member.issym():
            if _escapes(_parent(path), member.linkname):
                raise _refuse(f'invalid symlink "{member.name}" -> "{member.linkname}"')
            self.replace(path, EntryKind.SYMLINK)
            self.index.add(_tar_entry(member, path, EntryKind.SYMLINK, link_target=member.linkname))
        elif member.islnk():
            target = self.index.entries.get(clean_path(member.linkname))
            refused = member.linkname.startswith("/") or ".." in member.linkname.split("/")
            if refused or target is None or target.kind is not EntryKind.FILE or target.path == path:
                raise _refuse(f'invalid hardlink "{member.name}" -> "{member.linkname}"')
            self.replace(path, EntryKind.FILE)
            os.link(self.staging / target.path, self.staging / path)
            self.index.inodes[path] = self.index.inodes[target.path]
            self.digests[path] = self.digests[target.path]
            self.index.add(_tar_entry(member, path, EntryKind.FILE, size=target.size))
        elif member.isreg():
            self.replace(path, EntryKind.FILE)
            self.index.add(_tar_entry(member, path, EntryKind.FILE, size=member.size))
            self.write(path, archive.extractfile(member), member.size)


def read_tar_context(
    stream: BinaryIO, staging: Path, *, ignore: IgnoreMatcher | None = None, limits: ContextLimits | None = None
) -> BuildContext:
    """A tar stream (plain or compressed) read once, its files written under `staging`: an empty directory
    the caller owns, keeps private (0700: staged files keep no modes of their own) and removes. `ignore`
    filters the context as the daemon does for one sent unfiltered."""
    stager = _TarStager(staging, limits or ContextLimits())
    try:
        with tarfile.open(fileobj=stream, mode="r|*", bufsize=_CHUNK) as archive:
            for member in archive:
                stager.add(member, archive)
    except tarfile.TarError as error:
        raise ContextError(f"build context is not a valid tar stream: {error}") from None
    context = BuildContext(staging, stager.index.entries, stager.index.inodes, stager.digests)
    return context if ignore is None else context.without(ignore)
