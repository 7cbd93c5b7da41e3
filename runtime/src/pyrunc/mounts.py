"""The container's filesystem: config mounts, /dev, pivot_root, masked and read-only paths.

Everything here runs in init, inside the container's new mount namespace (or, for a config
without one, in the caller's), in the order runc uses; see init.py for where each step is called.
"""

import os
import stat

from . import linux
from .errors import PyruncError

# option -> (flag, set?) ; anything not here and not a propagation word is fs data
_FLAG_OPTIONS = {
    "ro": (linux.MS_RDONLY, True), "rw": (linux.MS_RDONLY, False),
    "nosuid": (linux.MS_NOSUID, True), "suid": (linux.MS_NOSUID, False),
    "nodev": (linux.MS_NODEV, True), "dev": (linux.MS_NODEV, False),
    "noexec": (linux.MS_NOEXEC, True), "exec": (linux.MS_NOEXEC, False),
    "sync": (linux.MS_SYNCHRONOUS, True), "async": (linux.MS_SYNCHRONOUS, False),
    "dirsync": (linux.MS_DIRSYNC, True),
    "remount": (linux.MS_REMOUNT, True),
    "mand": (linux.MS_MANDLOCK, True), "nomand": (linux.MS_MANDLOCK, False),
    "noatime": (linux.MS_NOATIME, True), "atime": (linux.MS_NOATIME, False),
    "nodiratime": (linux.MS_NODIRATIME, True), "diratime": (linux.MS_NODIRATIME, False),
    "relatime": (linux.MS_RELATIME, True), "norelatime": (linux.MS_RELATIME, False),
    "strictatime": (linux.MS_STRICTATIME, True), "nostrictatime": (linux.MS_STRICTATIME, False),
    "lazytime": (linux.MS_LAZYTIME, True), "nolazytime": (linux.MS_LAZYTIME, False),
    "symfollow": (linux.MS_NOSYMFOLLOW, False), "nosymfollow": (linux.MS_NOSYMFOLLOW, True),
    "bind": (linux.MS_BIND, True), "rbind": (linux.MS_BIND | linux.MS_REC, True),
    "silent": (linux.MS_SILENT, True), "loud": (linux.MS_SILENT, False),
}
PROPAGATION = {
    "private": linux.MS_PRIVATE, "rprivate": linux.MS_PRIVATE | linux.MS_REC,
    "shared": linux.MS_SHARED, "rshared": linux.MS_SHARED | linux.MS_REC,
    "slave": linux.MS_SLAVE, "rslave": linux.MS_SLAVE | linux.MS_REC,
    "unbindable": linux.MS_UNBINDABLE, "runbindable": linux.MS_UNBINDABLE | linux.MS_REC,
}
# runc's own options that mean nothing to the kernel
_IGNORED_OPTIONS = {"tmpcopyup", "rro", "rrw"}


class MountOptions:
    __slots__ = ("flags", "clear", "propagation", "data")

    def __init__(self, options):
        self.flags = 0
        self.clear = 0
        self.propagation = []
        data = []
        for opt in options:
            if opt in _FLAG_OPTIONS:
                flag, on = _FLAG_OPTIONS[opt]
                if on:
                    self.flags |= flag
                else:
                    self.flags &= ~flag
                    self.clear |= flag
            elif opt in PROPAGATION:
                self.propagation.append(PROPAGATION[opt])
            elif opt not in _IGNORED_OPTIONS:
                data.append(opt)
        self.data = ",".join(data) or None

    @property
    def is_bind(self):
        return bool(self.flags & linux.MS_BIND)


def validate_options(mounts):
    """Refuse what we cannot honour before anything is created."""
    for i, m in enumerate(mounts):
        for opt in m.options:
            if opt == "idmap" or opt == "ridmap":
                raise PyruncError(f"mounts[{i}].options: {opt!r} (id-mapped mounts) is not supported by pyrunc")
        if m.type == "bind" or "bind" in m.options or "rbind" in m.options:
            if not m.source:
                raise PyruncError(f"mounts[{i}].source: a bind mount needs a source")


def secure_join(root, unsafe):
    """root + unsafe, resolving symlinks as if root were "/", so nothing escapes root."""
    parts = [p for p in unsafe.split("/") if p and p != "."]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a link, or does not exist yet
            resolved.append(part)
            continue
        hops += 1
        if hops > 255:
            raise PyruncError(f"too many levels of symbolic links resolving {unsafe}")
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p and p != "."] + parts
    return os.path.join(root, *resolved)


def _mkdir_all(path, mode=0o755):
    os.makedirs(path, mode=mode, exist_ok=True)


def _ensure_target(dest, source_is_dir):
    """Create the mount point: a dir, or an empty file for a file bind."""
    if source_is_dir:
        _mkdir_all(dest)
    elif not os.path.exists(dest):
        _mkdir_all(os.path.dirname(dest))
        os.close(os.open(dest, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def _remount(dest, flags):
    linux.mount(None, dest, None, flags | linux.MS_REMOUNT | linux.MS_BIND)


def mount_one(rootfs, m, index, ctx):
    """Mount config entry `m` under rootfs (runc's mountToRootfs)."""
    opts = MountOptions(m.options)
    dest = secure_join(rootfs, m.destination)
    kind = m.type or ("bind" if opts.is_bind else None)
    try:
        if kind == "bind" or opts.is_bind:
            source = m.source if os.path.isabs(m.source) else os.path.join(ctx.bundle, m.source)
            try:
                st = os.stat(source)
            except FileNotFoundError:
                raise PyruncError(f"mounts[{index}].source: {m.source}: no such file or directory") from None
            _ensure_target(dest, stat.S_ISDIR(st.st_mode))
            linux.mount(source, dest, "bind", linux.MS_BIND | (opts.flags & linux.MS_REC), None)
            extra = opts.flags & ~(linux.MS_BIND | linux.MS_REC)
            if extra:
                _remount(dest, extra)
        elif kind == "cgroup":
            from . import cgroups

            if ctx.new_cgroupns:
                ctx.join_cgroup()  # the mount shows our cgroup namespace: it must exist
            _mkdir_all(dest)
            cgroups.mount_cgroupfs(dest, ctx.cgroup, ctx.new_cgroupns, opts.flags)
        elif kind == "sysfs" and not ctx.new_netns:
            # sysfs belongs to the network namespace: without our own, bind the host's (as runc)
            _mkdir_all(dest)
            linux.mount("/sys", dest, "bind", linux.MS_BIND | linux.MS_REC, None)
            _remount(dest, opts.flags | linux.MS_REC)
        else:
            _mkdir_all(dest)
            ro = opts.flags & linux.MS_RDONLY
            flags = opts.flags & ~linux.MS_RDONLY if kind == "tmpfs" else opts.flags
            data = opts.data
            if ctx.mount_label:
                from . import lsm

                data = lsm.mount_data(data, kind, ctx.mount_label)
            linux.mount(m.source or kind or "none", dest, kind, flags, data)
            if kind == "tmpfs" and ro:  # tmpfs is filled (e.g. /dev) before it turns read-only
                ctx.late_readonly.append(dest)
        for prop in opts.propagation:
            linux.mount(None, dest, None, prop)
    except OSError as e:
        raise PyruncError(f"error mounting {m.source!r} to rootfs at {m.destination!r}: {e.strerror}") from None


def prepare_root(rootfs, propagation, own_namespace=True):
    """Stop our mounts leaking to the host, and make rootfs a mount point for pivot_root.

    Without a mount namespace of our own, / is the caller's: as runc, it becomes rslave
    (or rootfsPropagation) there too, so nothing mounted under rootfs reaches its peers.
    """
    flags = PROPAGATION.get(propagation or "rslave", linux.MS_SLAVE | linux.MS_REC)
    if flags & linux.MS_SHARED and own_namespace:
        flags = linux.MS_PRIVATE | linux.MS_REC  # made shared again after pivot_root
    linux.mount(None, "/", None, flags | linux.MS_REC)
    linux.mount(rootfs, rootfs, "bind", linux.MS_BIND | linux.MS_REC)


DEFAULT_DEVICES = (
    # path, type, major, minor, mode
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
)
_DEV_LINKS = (
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
)


def _make_device(rootfs, path, kind, major, minor, mode, uid, gid, bind_only):
    dest = secure_join(rootfs, path)
    _mkdir_all(os.path.dirname(dest))
    if bind_only:
        # a user namespace may not mknod: bind the host's node instead (as runc)
        _ensure_target(dest, False)
        linux.mount(path, dest, "bind", linux.MS_BIND)
        return
    kind_bits = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[kind]
    try:
        os.unlink(dest)
    except FileNotFoundError:
        pass
    os.mknod(dest, kind_bits | (mode & 0o7777), os.makedev(major, minor) if kind != "p" else 0)
    os.chmod(dest, mode & 0o7777)  # mknod is subject to umask
    os.chown(dest, uid, gid)


def create_devices(rootfs, devices, user_ns):
    """The default /dev nodes, the config's devices and /dev's standard links."""
    for path, kind, major, minor, mode in DEFAULT_DEVICES:
        _make_device(rootfs, path, kind, major, minor, mode, 0, 0, user_ns)
    for d in devices:
        mode = d.file_mode if d.file_mode is not None else 0o666
        _make_device(rootfs, d.path, d.type, d.major or 0, d.minor or 0, mode, d.uid or 0, d.gid or 0, user_ns)
    for target, link in _DEV_LINKS:
        dest = secure_join(rootfs, link)
        try:
            os.symlink(target, dest)
        except FileExistsError:
            pass
    if os.path.exists(secure_join(rootfs, "/proc/kcore")):
        try:
            os.symlink("/proc/kcore", secure_join(rootfs, "/dev/core"))
        except FileExistsError:
            pass


def needs_dev_setup(mounts):
    """runc sets up /dev unless the config bind-mounts the host's /dev."""
    return not any(m.destination == "/dev" and (m.type == "bind" or "bind" in m.options or "rbind" in m.options)
                   for m in mounts)


def pivot_root(rootfs):
    """pivot_root(".", ".") and detach the old root (runc's trick: no put_old dir needed)."""
    old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    new = os.open(rootfs, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fchdir(new)
        linux.pivot_root(".", ".")
        os.fchdir(old)
        # the old root must not propagate our unmount to the host
        linux.mount(None, ".", None, linux.MS_SLAVE | linux.MS_REC)
        linux.umount2(".", linux.MNT_DETACH)
        os.chdir("/")
    finally:
        os.close(old)
        os.close(new)


def move_root(rootfs):
    """--no-pivot: move the rootfs over / and chroot into it."""
    os.chdir(rootfs)
    linux.mount(rootfs, "/", None, linux.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def chroot_root(rootfs):
    """Without a mount namespace of our own there is nothing to pivot: chroot, as runc."""
    os.chdir(rootfs)
    os.chroot(".")
    os.chdir("/")


def mount_id(path):
    """The id of the topmost mount at path (the kernel's, as /proc/self/fdinfo shows it)."""
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("mnt_id:"):
                    return int(line.split()[1])
    finally:
        os.close(fd)
    return None


def release_rootfs(rootfs, mnt_id):
    """Detach the rootfs bind, and every mount under it, that init made in the caller's namespace.

    Only if it is still the topmost mount there (a delete run from another mount namespace
    finds another): runc leaves these behind, but the spec's delete removes what create made.
    """
    try:
        if mount_id(rootfs) == mnt_id:
            linux.umount2(rootfs, linux.MNT_DETACH)
    except FileNotFoundError:
        pass


def mask_paths(paths):
    for p in paths:
        try:
            if os.path.isdir(p):
                linux.mount("tmpfs", p, "tmpfs", linux.MS_RDONLY)
            else:
                linux.mount("/dev/null", p, "bind", linux.MS_BIND)
        except FileNotFoundError:
            pass
        except OSError as e:
            if e.errno != 2:
                raise PyruncError(f"linux.maskedPaths: cannot mask {p}: {e.strerror}") from None


def readonly_paths(paths):
    for p in paths:
        try:
            linux.mount(p, p, "bind", linux.MS_BIND | linux.MS_REC)
            _remount(p, linux.MS_RDONLY | linux.MS_REC | _locked_flags(p))
        except OSError as e:
            if e.errno != 2:
                raise PyruncError(f"linux.readonlyPaths: cannot make {p} read-only: {e.strerror}") from None


def _locked_flags(path):
    """nosuid/nodev/noexec already on a mount must be kept by a bind remount."""
    st = os.statvfs(path)
    flags = 0
    for bit, ms in ((os.ST_NOSUID, linux.MS_NOSUID), (os.ST_NODEV, linux.MS_NODEV), (os.ST_NOEXEC, linux.MS_NOEXEC)):
        if st.f_flag & bit:
            flags |= ms
    return flags


def remount_readonly(path):
    _remount(path, linux.MS_RDONLY | _locked_flags(path))


def set_root_propagation(propagation):
    if propagation:
        linux.mount(None, "/", None, PROPAGATION[propagation])
