"""`cp` inside a container's rootfs, without running or loading anything the container provides.

The helper runs on the host, as root. It never chroots and never resolves a user or group name:
glibc would read the container's nsswitch.conf and dlopen its libnss_*.so (docker's CVE-2019-14271).
Owners are copied as numbers, so tarfile's name lookups (gettarinfo, TarFile.chown) are never used.

Paths are the container's to define. They are resolved inside the rootfs as docker's
FollowSymlinkInScope does, but on file descriptors: each component is opened O_NOFOLLOW relative to
its parent's descriptor, a symlink is expanded with the rootfs as / and `..` never climbs above it.
A running container that swaps its files for symlinks mid-copy cannot steer the helper to a host file.

    python -m pyruncd.containers.archive get ROOTFS PATH   # a tar of PATH on stdout
    python -m pyruncd.containers.archive put ROOTFS PATH   # a tar on stdin, into PATH
"""

import errno
import os
import posixpath
import stat
import sys
import tarfile
from typing import BinaryIO

_MAX_LINKS = 40  # as the kernel's MAXSYMLINKS
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class CopyError(Exception):
    """One line for the user."""


def _parts(path: str) -> list[str]:
    return [p for p in posixpath.normpath("/" + path).split("/") if p]


def open_in_root(root_fd: int, parts: list[str]) -> int:
    """An O_PATH descriptor of `parts` under the root, symlinks followed inside it; the caller closes it."""
    stack = [os.dup(root_fd)]  # descriptors from the root down: `..` pops, never opens ".."
    todo = list(reversed(parts))
    links = 0
    try:
        while todo:
            comp = todo.pop()
            if comp in ("", "."):
                continue
            if comp == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            fd = os.open(comp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            if not stat.S_ISLNK(os.fstat(fd).st_mode):
                stack.append(fd)
                continue
            os.close(fd)
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            target = os.readlink(comp, dir_fd=stack[-1])
            if target.startswith("/"):
                while len(stack) > 1:
                    os.close(stack.pop())
            todo.extend(reversed(target.split("/")))
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def _is_dir(fd: int) -> bool:
    return stat.S_ISDIR(os.fstat(fd).st_mode)


# ---- get


def _info(arcname: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.mode = stat.S_IMODE(st.st_mode)
    info.uid, info.gid = st.st_uid, st.st_gid
    info.uname = info.gname = ""  # numbers only: a name would need the container's NSS
    info.mtime = int(st.st_mtime)
    return info


def _add(tar: tarfile.TarFile, dir_fd: int, name: str, arcname: str, seen: dict[tuple[int, int], str]) -> None:
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    info = _info(arcname, st)
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        info.type = tarfile.DIRTYPE
        fd = os.open(name, _DIR, dir_fd=dir_fd)
        try:
            tar.addfile(info)
            for child in sorted(os.listdir(fd)):
                _add(tar, fd, child, f"{arcname}/{child}", seen)
        finally:
            os.close(fd)
    elif stat.S_ISREG(mode):
        if st.st_nlink > 1:
            if (key := (st.st_dev, st.st_ino)) in seen:
                info.type, info.linkname = tarfile.LNKTYPE, seen[key]
                tar.addfile(info)
                return
            seen[key] = arcname
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
        with os.fdopen(fd, "rb") as f:
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode):
                raise CopyError(f"{arcname}: changed while being copied")
            info.size = now.st_size
            tar.addfile(info, f)
    elif stat.S_ISLNK(mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=dir_fd)
        tar.addfile(info)
    elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        info.type = {stat.S_IFIFO: tarfile.FIFOTYPE, stat.S_IFCHR: tarfile.CHRTYPE,
                     stat.S_IFBLK: tarfile.BLKTYPE}[stat.S_IFMT(mode)]
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        tar.addfile(info)
    # sockets are skipped, as tar does


def get(root_fd: int, path: str, out: BinaryIO) -> None:
    """A tar of PATH, its last component not followed (a symlink is copied as one), as docker does."""
    parts = _parts(path)
    try:
        parent = open_in_root(root_fd, parts[:-1])
    except (FileNotFoundError, NotADirectoryError):
        raise CopyError(f"Could not find the file {path} in container") from None
    try:
        name = parts[-1] if parts else "."
        try:
            os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise CopyError(f"Could not find the file {path} in container") from None
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, parent, name, name, {})
    finally:
        os.close(parent)


# ---- put


class _Extractor:
    """Members of a tar, written under one directory descriptor and never through a symlink."""

    def __init__(self, tar: tarfile.TarFile, dest_fd: int, rename: str | None):
        self.tar = tar
        self.dest = dest_fd
        self.rename = rename  # the new name of the archive's top entry, if any
        self.top = ""
        self.dirs: list[tuple[list[str], int]] = []

    def name(self, name: str) -> str:
        """A member's name in the destination: the archive's top entry (and what is under it) renamed."""
        if self.rename is None:
            return name
        name = name.lstrip("/")
        self.top = self.top or name.split("/")[0]
        if name == self.top or name.startswith(self.top + "/"):
            return self.rename + name[len(self.top):]
        return name

    def _member_parts(self, name: str) -> list[str]:
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts:
            raise CopyError(f"refusing {name!r}: path traversal")
        return parts

    def _open_dir(self, parts: list[str], name: str, create: bool) -> int:
        """A descriptor of the directory `parts` under the destination, made if missing and `create`."""
        fd = os.dup(self.dest)
        try:
            for i, comp in enumerate(parts):
                try:
                    nxt = os.open(comp, _DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(comp, 0o755, dir_fd=fd)
                    nxt = os.open(comp, _DIR, dir_fd=fd)
                except OSError as e:
                    if e.errno not in (errno.ENOTDIR, errno.ELOOP):
                        raise
                    what = "is a symlink" if e.errno == errno.ELOOP else "is not a directory"
                    raise CopyError(f"refusing {name!r}: {'/'.join(parts[:i + 1])} {what}") from None
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    def extract(self, m: tarfile.TarInfo, name: str) -> None:
        parts = self._member_parts(name)
        if not parts:
            return  # the destination itself: it exists, and is not the archive's to change
        parent = self._open_dir(parts[:-1], name, create=True)
        try:
            self._entry(m, parent, parts, name)
        finally:
            os.close(parent)

    def _clear(self, parent: int, base: str, name: str, keep_dir: bool) -> bool:
        """Make room for a new entry; True if a directory is there and stays."""
        try:
            st = os.stat(base, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            raise CopyError(f"cannot overwrite directory {name!r} with non-directory")
        os.unlink(base, dir_fd=parent)
        return False

    def _entry(self, m: tarfile.TarInfo, parent: int, parts: list[str], name: str) -> None:
        base = parts[-1]
        exists = self._clear(parent, base, name, keep_dir=m.isdir())
        if m.isdir():
            if not exists:
                os.mkdir(base, 0o700, dir_fd=parent)
            fd = os.open(base, _DIR, dir_fd=parent)
            try:
                os.fchown(fd, m.uid, m.gid)
                os.fchmod(fd, stat.S_IMODE(m.mode))  # after chown, which clears setuid bits
            finally:
                os.close(fd)
            self.dirs.append((parts, int(m.mtime)))
        elif m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=parent)
            with os.fdopen(fd, "wb") as out:
                src = self.tar.extractfile(m)
                assert src is not None  # a regular file's
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                os.fchown(fd, m.uid, m.gid)
                os.fchmod(fd, stat.S_IMODE(m.mode))
                os.utime(fd, (m.mtime, m.mtime))
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=parent)
            os.chown(base, m.uid, m.gid, dir_fd=parent, follow_symlinks=False)
            os.utime(base, (m.mtime, m.mtime), dir_fd=parent, follow_symlinks=False)
        elif m.islnk():
            self._hardlink(m, parent, base, name)
        elif m.isfifo() or m.ischr() or m.isblk():
            kind = stat.S_IFIFO if m.isfifo() else stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            os.mknod(base, kind | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=parent)
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            try:  # an O_PATH descriptor: the node is never opened for I/O
                os.chown(f"/proc/self/fd/{fd}", m.uid, m.gid)
                os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(m.mode))
            finally:
                os.close(fd)
        else:
            raise CopyError(f"refusing {name!r}: unsupported tar entry type {m.type!r}")

    def _hardlink(self, m: tarfile.TarInfo, parent: int, base: str, name: str) -> None:
        """A link to an entry already extracted; tar stores its target as a path in the archive."""
        tparts = self._member_parts(self.name(m.linkname))
        missing = CopyError(f"refusing hardlink {name!r} -> {m.linkname!r}: target is not in the archive")
        if not tparts:
            raise missing
        try:
            tdir = self._open_dir(tparts[:-1], name, create=False)
        except (FileNotFoundError, CopyError):
            raise missing from None
        try:
            st = os.stat(tparts[-1], dir_fd=tdir, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                raise missing
            os.link(tparts[-1], base, src_dir_fd=tdir, dst_dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            raise missing from None
        finally:
            os.close(tdir)

    def finish(self) -> None:
        # directory times last: creating their children moved them
        for parts, mtime in reversed(self.dirs):
            fd = self._open_dir(parts, "/".join(parts), create=False)
            try:
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)


def _destination(root_fd: int, path: str) -> tuple[int, str | None]:
    """PATH's directory descriptor, or its parent's and the name to give the archive's top entry."""
    parts = _parts(path)
    try:
        fd = open_in_root(root_fd, parts)
    except (FileNotFoundError, NotADirectoryError):
        fd = None
    if fd is not None:
        if _is_dir(fd):
            return fd, None
        os.close(fd)
    missing = CopyError(f"Could not find the file {posixpath.dirname(posixpath.normpath('/' + path))} in container")
    try:
        fd = open_in_root(root_fd, parts[:-1])
    except (FileNotFoundError, NotADirectoryError):
        raise missing from None
    if not _is_dir(fd):
        os.close(fd)
        raise missing
    return fd, parts[-1]


def put(root_fd: int, path: str, src: BinaryIO) -> None:
    """As docker: into PATH when it is a directory, else as PATH (the archive's single top entry renamed)."""
    dest, rename = _destination(root_fd, path)
    try:
        with tarfile.open(fileobj=src, mode="r|") as tar:
            x = _Extractor(tar, os.open(".", _DIR, dir_fd=dest), rename)
            try:
                for m in tar:
                    x.extract(m, x.name(m.name))
                x.finish()
            finally:
                os.close(x.dest)
    finally:
        os.close(dest)


def main(argv: list[str]) -> int:
    mode, rootfs, path = argv
    try:
        root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        if mode == "get":
            get(root_fd, path, sys.stdout.buffer)
        else:
            put(root_fd, path, sys.stdin.buffer)
    except CopyError as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{path}: {e.strerror or e}", file=sys.stderr)
        return 1
    except (tarfile.TarError, EOFError) as e:
        print(f"{path}: not a valid tar archive: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
