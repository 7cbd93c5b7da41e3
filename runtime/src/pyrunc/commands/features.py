"""`pyrunc features`: the runtime-spec Features structure, truthful about pyrunc.

Lists what pyrunc itself recognises and implements: namespaces from spec.py,
mount options from mounts.py (runc-only options pyrunc ignores are left out),
capabilities this kernel knows, the seccomp actions/operators/arches our
libseccomp binding accepts, and the seccomp flags this kernel takes.
"""

import json
import sys

from .. import capabilities, hooks, seccomp
from .. import spec as spec_mod
from ..cli import SPEC_VERSION


def _mount_options():
    from .. import mounts

    # every option that maps to a mount flag or a propagation change
    return sorted(set(mounts._FLAG_OPTIONS) | set(mounts.PROPAGATION))


def _seccomp():
    from .. import libseccomp

    try:
        version = libseccomp.version()
    except OSError:
        return {"enabled": False}, None
    return {
        "enabled": True,
        "actions": sorted(seccomp.ACTIONS),
        "operators": sorted(seccomp.OPERATORS),
        "archs": sorted(a for a, name in seccomp.ARCHS.items() if libseccomp.resolve_arch(name) is not None),
        "knownFlags": list(seccomp.FLAGS),
        "supportedFlags": [f for f, bit in seccomp.FLAGS.items() if _kernel_takes_flag(bit)],
    }, version


def _kernel_takes_flag(bit):
    """seccomp(2) with a NULL program fails EFAULT for a flag it knows, EINVAL for one it does not."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    ret = libc.syscall(seccomp._SYS_SECCOMP, seccomp._SECCOMP_SET_MODE_FILTER, ctypes.c_ulong(bit), None)
    return ret < 0 and ctypes.get_errno() == errno.EFAULT


def features(ctx, args):
    from .. import __version__

    sc, libseccomp_version = _seccomp()
    out = {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": list(hooks.KINDS),
        "mountOptions": _mount_options(),
        "linux": {
            "namespaces": sorted(spec_mod.NAMESPACE_TYPES),
            "capabilities": list(capabilities.known()),
            # cgroups/ drives v1, v2 and hybrid hosts through cgroupfs; no systemd D-Bus client
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False, "rdma": False},
            "seccomp": sc,
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
        },
        "annotations": {"org.opencontainers.pyrunc.version": __version__},
    }
    if libseccomp_version:
        out["annotations"]["io.github.seccomp.libseccomp.version"] = libseccomp_version
    sys.stdout.write(json.dumps(out, indent=4) + "\n")
