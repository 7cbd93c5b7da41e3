"""process.capabilities: name checks, and applying the five sets around the user switch.

The order is runc's: prepare() drops from the bounding set what is not listed
and sets PR_SET_KEEPCAPS, so the uid switch keeps the permitted set; finish(),
after the switch, clears KEEPCAPS, sets effective/permitted/inheritable in one
capset and then raises the ambient set. A set the config leaves out is empty.

Everything prepare()/finish() need is imported with this module, because they
run after pivot_root where the host's Python files are out of reach: import
it before forking the container's init.
"""

import ctypes

import _prctl
import prctl

from .errors import ConfigError, PyruncError, reason

# linux/capability.h, by number
NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")

PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4



def _read_last_cap():
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return min(int(f.read()), len(NAMES) - 1)
    except OSError:
        return len(NAMES) - 1


# read at import: prepare()/finish() run where /proc may not be mounted
LAST_CAP = _read_last_cap()


def known():
    """The capability names this kernel knows, in number order."""
    return NAMES[: LAST_CAP + 1]


def validate(caps, where="process.capabilities"):
    """ConfigError naming the field for a name this kernel does not know."""
    if caps is None:
        return
    names = set(known())
    for kind in SETS:
        for i, name in enumerate(getattr(caps, kind) or ()):
            if name not in names:
                raise ConfigError(f'{where}.{kind}[{i}]: unknown capability "{name}"')


def _numbers(names):
    index = {n: i for i, n in enumerate(NAMES)}
    return {index[n] for n in names or ()}


def prepare(caps):
    """Before the uid/gid switch: shrink the bounding set, keep capabilities across setuid."""
    if caps is None:
        return
    keep = _numbers(caps.bounding)
    try:
        for n in range(LAST_CAP + 1):
            if n not in keep and prctl.capbset_read(n):
                prctl.capbset_drop(n)
        prctl.set_keepcaps(True)
    except OSError as e:
        raise PyruncError(f"unable to apply caps: bounding set: {reason(e)}") from None


def finish(caps):
    """After the uid/gid switch: effective, permitted and inheritable exactly as listed, then ambient.

    An ambient capability the kernel refuses (it must be both permitted and
    inheritable) is left out, as runc only warns about it.
    """
    if caps is None:
        return
    every = range(LAST_CAP + 1)
    sets = [_numbers(caps.effective), _numbers(caps.permitted), _numbers(caps.inheritable)]
    on = [sorted(s) for s in sets]
    off = [[n for n in every if n not in s] for s in sets]
    try:
        prctl.set_keepcaps(False)
        _prctl.set_caps(*on, *off)
    except OSError as e:
        raise PyruncError(f"unable to apply caps: {reason(e)}") from None
    _ambient(_numbers(caps.ambient))


def _ambient(numbers):
    # python-prctl has no ambient set; libc's prctl does
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        return  # a kernel before 4.3 has no ambient set
    for n in sorted(numbers):
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, n, 0, 0)
