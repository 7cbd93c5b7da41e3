"""A thin ctypes binding over libseccomp.so.2: only the calls pyrunc makes.

Our own rather than pyseccomp: ctypes is already loaded by pyrunc.linux, so
this module costs ~1 ms to import against ~30 ms for pyseccomp.
"""

import ctypes
import os

# actions (seccomp.h)
ACT_KILL_PROCESS = 0x80000000
ACT_KILL_THREAD = 0x00000000
ACT_TRAP = 0x00030000
ACT_NOTIFY = 0x7FC00000
ACT_LOG = 0x7FFC0000
ACT_ALLOW = 0x7FFF0000


def act_errno(errno):
    return 0x00050000 | (errno & 0xFFFF)


def act_trace(msg):
    return 0x7FF00000 | (msg & 0xFFFF)


# enum scmp_filter_attr
ATTR_CTL_NNP = 3
ATTR_CTL_TSYNC = 4
ATTR_CTL_LOG = 6
ATTR_CTL_SSB = 7
ATTR_CTL_OPTIMIZE = 8

NR_SCMP_ERROR = -1


class ArgCmp(ctypes.Structure):
    """struct scmp_arg_cmp"""

    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint), ("minor", ctypes.c_uint), ("micro", ctypes.c_uint)]


_lib = None
_load_error: "OSError | None" = None


def lib():
    """The loaded library, typed; OSError if libseccomp is not installed."""
    if _lib is None:
        raise _load_error or OSError("libseccomp.so.2 is not loaded")
    return _lib


def _load():
    global _lib, _load_error
    try:
        so = ctypes.CDLL("libseccomp.so.2")
    except OSError as e:
        _load_error = e
        return
    so.seccomp_init.argtypes = [ctypes.c_uint32]
    so.seccomp_init.restype = ctypes.c_void_p
    so.seccomp_release.argtypes = [ctypes.c_void_p]
    so.seccomp_release.restype = None
    so.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    so.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    so.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    so.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    so.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    so.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    so.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                          ctypes.c_uint, ctypes.POINTER(ArgCmp)]
    so.seccomp_load.argtypes = [ctypes.c_void_p]
    so.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    so.seccomp_version.restype = ctypes.POINTER(_Version)
    _lib = so


def version():
    v = lib().seccomp_version().contents
    return f"{v.major}.{v.minor}.{v.micro}"


def resolve_syscall(name):
    """The native syscall number of `name` (negative for libseccomp's pseudo numbers), or None."""
    nr = lib().seccomp_syscall_resolve_name(name.encode())
    return None if nr == NR_SCMP_ERROR else nr


def resolve_syscall_arch(token, name):
    """The syscall number of `name` on the arch `token` (negative: a pseudo number or unknown)."""
    return lib().seccomp_syscall_resolve_name_arch(token, name.encode())


def resolve_arch(name):
    """libseccomp's token for an arch name such as "x86_64", or None."""
    return lib().seccomp_arch_resolve_name(name.encode()) or None


# at import: the container's init uses it after pivot_root, where dlopen() would find nothing
_load()


class Error(OSError):
    pass


def _check(ret, what):
    if ret < 0:
        raise Error(-ret, f"{what}: {os.strerror(-ret)}")
    return ret


class Filter:
    """A seccomp filter context being built; release() frees it."""

    def __init__(self, default_action):
        self.ctx = lib().seccomp_init(default_action)
        if not self.ctx:
            raise Error(22, f"seccomp_init: invalid default action {default_action:#x}")

    def add_arch(self, token):
        ret = lib().seccomp_arch_add(self.ctx, token)
        if ret != -17:  # EEXIST: the native arch is always in
            _check(ret, "seccomp_arch_add")

    def set_attr(self, attr, value):
        _check(lib().seccomp_attr_set(self.ctx, attr, value), f"seccomp_attr_set({attr})")

    def add_rule(self, action, nr, conds=()):
        arr = (ArgCmp * len(conds))(*[ArgCmp(i, op, a, b) for i, op, a, b in conds])
        return _check(lib().seccomp_rule_add_array(self.ctx, action, nr, len(conds), arr), "seccomp_rule_add")

    def export_bpf(self):
        """The compiled BPF program, as bytes of struct sock_filter (8 bytes an instruction)."""
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            _check(lib().seccomp_export_bpf(self.ctx, fd), "seccomp_export_bpf")
            size = os.lseek(fd, 0, os.SEEK_CUR)
            return os.pread(fd, size, 0)
        finally:
            os.close(fd)

    def load(self):
        _check(lib().seccomp_load(self.ctx), "seccomp_load")

    def release(self):
        if self.ctx:
            lib().seccomp_release(self.ctx)
            self.ctx = None
