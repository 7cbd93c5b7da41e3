"""The raw syscalls Python 3.11's os module lacks, through ctypes. Nothing else."""

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

NAMESPACE_FLAGS = {
    "mount": CLONE_NEWNS,
    "cgroup": CLONE_NEWCGROUP,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "user": CLONE_NEWUSER,
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
    "time": CLONE_NEWTIME,
}
# the names under /proc/<pid>/ns/
NAMESPACE_PROC_NAMES = {
    "mount": "mnt", "cgroup": "cgroup", "uts": "uts", "ipc": "ipc",
    "user": "user", "pid": "pid", "network": "net", "time": "time",
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_DETACH = 2

SIGKILL = 9

_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.setdomainname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.restype = ctypes.c_long
SYS_pivot_root = {"x86_64": 155, "aarch64": 41}[os.uname().machine]
SYS_keyctl = {"x86_64": 250, "aarch64": 219}[os.uname().machine]
KEYCTL_JOIN_SESSION_KEYRING = 1
KEYCTL_SETPERM = 5


def _check(ret, what):
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _b(s):
    return None if s is None else os.fsencode(s)


def mount(source, target, fstype, flags=0, data=None):
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)),
           f"mount {source} to {target}")


def umount2(target, flags=0):
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def setns(fd, nstype=0):
    _check(_libc.setns(fd, nstype), "setns")


def pivot_root(new_root, put_old):
    _check(_libc.syscall(SYS_pivot_root, _b(new_root), _b(put_old)), "pivot_root")


def join_session_keyring(name, perm):
    """A new session keyring for the container (runc's _ses.<id>), so it cannot read the caller's keys."""
    key = _check(_libc.syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, _b(name)), "join session keyring")
    _check(_libc.syscall(SYS_keyctl, KEYCTL_SETPERM, key, perm), "set session keyring permissions")


def sethostname(name):
    data = name.encode()
    _check(_libc.sethostname(data, len(data)), "sethostname")


def setdomainname(name):
    data = name.encode()
    _check(_libc.setdomainname(data, len(data)), "setdomainname")
