"""A config mount of type "cgroup": the container sees its own cgroups, as with runc.

v2: a cgroup2 mount (inside a cgroup namespace it shows the container's cgroup as
the root). v1 and hybrid: a tmpfs at dest with one directory per hierarchy, each a
bind of the container's own directory (or, with a cgroup namespace, a fresh
cgroup mount of that hierarchy, whose root is the container's cgroup). Like runc,
the cgroup2 mount of a hybrid host is not shown.
"""

import errno
import os

from .. import linux
from .discover import layout

# flags that describe how to mount, not what the mount is: never passed to a fresh mount
_NOT_MOUNT_FLAGS = (linux.MS_BIND | linux.MS_REC | linux.MS_REMOUNT | linux.MS_SHARED | linux.MS_SLAVE
                    | linux.MS_PRIVATE | linux.MS_UNBINDABLE | linux.MS_MOVE)


def mount_cgroupfs(dest, cg, cgroupns, flags):
    flags &= ~_NOT_MOUNT_FLAGS
    os.makedirs(dest, exist_ok=True)
    if cg.version == "v2":
        _mount_v2(dest, cg, flags)
    else:
        _mount_v1(dest, cg, cgroupns, flags)


def _bind(source, target, flags):
    linux.mount(source, target, None, linux.MS_BIND | linux.MS_REC)
    # a bind takes no other flags on the first call: they need a remount
    linux.mount(None, target, None, linux.MS_BIND | linux.MS_REMOUNT | flags)


def _mount_v2(dest, cg, flags):
    try:
        linux.mount("cgroup2", dest, "cgroup2", flags)
    except OSError as e:
        # a user namespace without its own cgroup namespace may not mount cgroup2: show our dir instead
        if e.errno not in (errno.EPERM, errno.EBUSY):
            raise
        _bind(cg.path, dest, flags)


def _mount_v1(dest, cg, cgroupns, flags):
    linux.mount("tmpfs", dest, "tmpfs", flags & ~linux.MS_RDONLY, "mode=755")
    hierarchies: dict[str, list[str]] = {}  # mountpoint -> controllers on it, in the order of cg.paths
    lay = layout()
    for ctrl in cg.paths:
        mnt = lay.v1[ctrl][0] if ctrl in lay.v1 else os.path.dirname(cg.paths[ctrl])
        hierarchies.setdefault(mnt, []).append(ctrl)
    for mnt, ctrls in hierarchies.items():
        name = os.path.basename(mnt)
        target = os.path.join(dest, name)
        os.mkdir(target, 0o755)
        if cgroupns:
            linux.mount("cgroup", target, "cgroup", flags, ",".join(ctrls))
        else:
            _bind(cg.paths[ctrls[0]], target, flags)
        # co-mounted controllers ("cpu,cpuacct") are also reachable by each name
        for ctrl in name.split(","):
            if ctrl != name and not os.path.lexists(os.path.join(dest, ctrl)):
                os.symlink(name, os.path.join(dest, ctrl))
    if flags & linux.MS_RDONLY:
        linux.mount(None, dest, None, linux.MS_BIND | linux.MS_REMOUNT | flags)
