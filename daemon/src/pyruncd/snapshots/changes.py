"""`docker diff`: the changes in a container's upper dir, as docker's overlay driver reports them.

Docker walks the upper dir in lexical order (moby's archive.OverlayChanges): a whiteout is a deletion
(D), and so is an opaque directory that hid something below; any other entry is a change (C) if the
image's layers hold its path, else an addition (A). A directory equal to the one below (size, mode,
mtime) is left out, but an addition or deletion reports its parent directory as changed first.
Docker keeps the files it mounts over (/etc/hosts) in a layer of their own; ours are in the upper dir,
so those `placeholders` are left out, and so is their directory when it holds nothing else. The
upper dir is the container's: it is walked on descriptors, never following a symlink; the image's
layers are looked up as overlay would, a layer at a time, top first.
"""

import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .diff import is_opaque, is_placeholder, is_whiteout, only_placeholders

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
OPAQUE_XATTR = "trusted.overlay.opaque"


@dataclass(frozen=True, kw_only=True)
class Change:
    kind: str  # A, C or D
    path: str  # absolute in the container


def in_layers(lowers: Sequence[Path], parts: list[str]) -> os.stat_result | None:
    """What the layers (top first, in overlay form) show at `parts`: its lstat, or None if nothing."""
    for layer in lowers:
        cur = str(layer)
        below_opaque = False
        for i, comp in enumerate(parts):
            cur = os.path.join(cur, comp)  # every component before it is a real directory: nothing followed
            try:
                st = os.lstat(cur)
            except FileNotFoundError:
                break
            if is_whiteout(st):
                return None
            if i == len(parts) - 1:
                return st
            if not stat.S_ISDIR(st.st_mode):
                return None  # a file or symlink hides the layers below
            try:
                below_opaque = below_opaque or os.getxattr(cur, OPAQUE_XATTR, follow_symlinks=False) == b"y"
            except OSError:
                pass
        if below_opaque:
            return None
    return None


def _same_time(a: int, b: int) -> bool:
    """moby's sameFsTime, on nanoseconds: equal, or equal seconds when either has no fraction."""
    return a == b or (a // 10**9 == b // 10**9 and (a % 10**9 == 0 or b % 10**9 == 0))


class _Differ:
    def __init__(self, lowers: Sequence[Path], placeholders: frozenset[str]):
        self.lowers = lowers
        self.placeholders = placeholders
        self.out: list[Change] = []
        self.changed_dirs: set[str] = set()

    def walk(self, dfd: int, parts: list[str]) -> None:
        for name in sorted(os.listdir(dfd), key=os.fsencode):
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            sub = [*parts, name]
            path = "/" + "/".join(sub)
            if stat.S_ISDIR(st.st_mode):
                fd = os.open(name, _DIR_FLAGS, dir_fd=dfd)
                try:
                    if only_placeholders(fd, path, self.placeholders):
                        continue  # copied up only to hold them
                    self.entry(path, sub, st, is_opaque(fd))
                    self.walk(fd, sub)
                finally:
                    os.close(fd)
            else:
                self.entry(path, sub, st, False)

    def entry(self, path: str, parts: list[str], st: os.stat_result, opaque: bool) -> None:
        if is_placeholder(path, st, self.placeholders):
            return
        below = in_layers(self.lowers, parts)
        if is_whiteout(st) or (opaque and below is not None):
            kind = "D"
        elif below is None:
            kind = "A"
        else:
            if (stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(below.st_mode) and st.st_size == below.st_size
                    and st.st_mode == below.st_mode and _same_time(st.st_mtime_ns, below.st_mtime_ns)):
                return
            kind = "C"
        if stat.S_ISDIR(st.st_mode):
            self.changed_dirs.add(path)
        if kind in ("A", "D"):
            parent = os.path.dirname(path)
            if parent != "/" and parent not in self.changed_dirs:
                self.out.append(Change(kind="C", path=parent))
                self.changed_dirs.add(parent)
        self.out.append(Change(kind=kind, path=path))


def changes(upper: str | os.PathLike[str], lowers: Sequence[Path],
            placeholders: frozenset[str] = frozenset()) -> list[Change]:
    """docker diff's lines for the upper dir over `lowers` (the image's snapshots, top first), in its order;
    `placeholders`: absolute paths ("/etc/hosts") left out when they are empty files."""
    differ = _Differ(lowers, placeholders)
    fd = os.open(upper, _DIR_FLAGS)
    try:
        differ.walk(fd, [])
    finally:
        os.close(fd)
    return differ.out
