"""Container cgroups on v1, v2 and hybrid hosts, behind one interface.

open_for_container() resolves linux.cgroupsPath as runc's cgroupfs driver does:
an absolute path is taken from the root of every hierarchy, a relative one
(and the default, the container id) from the calling process's own cgroup in
each hierarchy. On a hybrid host the v1 hierarchies hold the controllers and
the container also gets (and joins) a directory in the cgroup2 mount, as runc
does; hugetlb lives there on this kind of host.

Only the module for the host's layout is imported (v1.py or v2.py).
"""

import os
import posixpath

from ..errors import PyruncError
from .base import Cgroup, set_logger

__all__ = ["Cgroup", "detect", "open_for_container", "from_state", "mount_cgroupfs", "set_logger"]

# the v1 hierarchies runc manages; others (e.g. name=foo) are left alone
V1_CONTROLLERS = ("cpuset", "devices", "memory", "cpu", "cpuacct", "pids", "blkio", "hugetlb",
                  "net_cls", "net_prio", "perf_event", "freezer", "rdma", "misc", "name=systemd")


def detect():
    """"v1", "v2" or "hybrid" (read once per process)."""
    from .discover import layout

    return layout().mode


def own_cgroups(pid="self"):
    from .discover import own_cgroups as _own

    return _own(pid)


def clean_path(path):
    """runc's CleanPath: normalised, and a relative path cannot climb out with '..'."""
    if not path:
        return ""
    if posixpath.isabs(path):
        return posixpath.normpath(path)
    return posixpath.relpath(posixpath.normpath("/" + path), "/")


def _dir_in(mountpoint, mount_root, own_path, inner):
    if inner.startswith("/"):
        return mountpoint + inner if inner != "/" else mountpoint
    rel = posixpath.relpath(own_path or "/", mount_root or "/")
    return posixpath.normpath(posixpath.join(mountpoint, rel, inner))


def expand_slice(slice_name):
    """systemd's slice nesting: "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice"."""
    if not slice_name.endswith(".slice") or "/" in slice_name:
        raise PyruncError(f"linux.cgroupsPath: invalid slice name {slice_name!r}")
    base = slice_name[:-len(".slice")]
    if base == "-":
        return "/"
    if base.startswith("-") or base.endswith("-") or "--" in base:
        raise PyruncError(f"linux.cgroupsPath: invalid slice name {slice_name!r}")
    path, prefix = "", ""
    for part in base.split("-"):
        prefix = f"{prefix}-{part}" if prefix else part
        path += f"/{prefix}.slice"
    return path


def _systemd_inner(cgroups_path, container_id):
    if not os.path.isdir("/run/systemd/system"):
        raise PyruncError("systemd cgroup driver (--systemd-cgroup) requested, but systemd is not "
                          "running on this host: use the cgroupfs driver (drop --systemd-cgroup)")
    if not cgroups_path:
        slice_name, prefix, name = "system.slice", "runc", container_id
    else:
        parts = cgroups_path.split(":")
        if len(parts) != 3:
            raise PyruncError(f'linux.cgroupsPath: expected "slice:prefix:name" for systemd cgroups, '
                              f"got {cgroups_path!r}")
        slice_name, prefix, name = parts
        slice_name = slice_name or "system.slice"
    # systemd is not asked to create a scope (pyrunc has no D-Bus client): the directories are made
    # where systemd would put them, so the layout matches what systemd tools expect
    return expand_slice(slice_name) + "/" + (name if name.endswith(".slice") else f"{prefix}-{name}.scope")


def open_for_container(cgroups_path, container_id, systemd=False):
    """The Cgroup for a container (nothing is created until .create())."""
    inner = _systemd_inner(cgroups_path, container_id) if systemd else clean_path(cgroups_path or "")
    if not inner:
        inner = container_id
    from .discover import layout

    lay = layout()
    own = own_cgroups()
    if lay.mode == "v2":
        from .v2 import V2Cgroup

        return V2Cgroup(lay.unified, _dir_in(lay.unified, lay.unified_root, own.get(""), inner))
    from .v1 import V1Cgroup

    paths = {}
    for ctrl, (mnt, root) in lay.v1.items():
        if ctrl in V1_CONTROLLERS:
            paths[ctrl] = _dir_in(mnt, root, own.get(ctrl), inner)
    if "devices" not in paths:
        # without the devices controller every device would be open to the container
        raise PyruncError("cgroup v1 devices controller is not mounted: refusing to run unconfined")
    unified = None
    if lay.mode == "hybrid":
        unified = _dir_in(lay.unified, lay.unified_root, own.get(""), inner)
    return V1Cgroup(paths, unified, lay.unified)


def from_state(data):
    """The inverse of Cgroup.to_state()."""
    if data.get("version") == "v2":
        from .v2 import V2Cgroup

        return V2Cgroup(data["mount"], data["path"])
    from .v1 import V1Cgroup

    return V1Cgroup(data["paths"], data.get("unified"), data.get("unified_mount"))


def mount_cgroupfs(dest, cg, cgroupns, flags):
    """Mount the container's cgroups at dest (see mount.py)."""
    from .mount import mount_cgroupfs as _mount

    _mount(dest, cg, cgroupns, flags)
