"""Which cgroup layout this host has, read from /proc/self/mountinfo once per process.

No dataclasses here: `pyrunc state` passes through this module and must stay cheap.

v2: /sys/fs/cgroup is the cgroup2 mount. hybrid: v1 hierarchies plus a cgroup2
mount beside them (systemd's /sys/fs/cgroup/unified). v1: no cgroup2 at all.
"""

CGROUP_ROOT = "/sys/fs/cgroup"

_cache = None
# cgroup v1 super options that name no hierarchy
_NOT_CONTROLLERS = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "favordynmods", "none"}


class Layout:
    """mode "v1" | "v2" | "hybrid"; v1: controller (or "name=systemd") -> (mountpoint, root of the
    hierarchy that mount shows); unified: the cgroup2 mountpoint, and its root."""

    __slots__ = ("mode", "v1", "unified", "unified_root")

    def __init__(self, mode, v1, unified, unified_root="/"):
        self.mode = mode
        self.v1 = v1
        self.unified = unified
        self.unified_root = unified_root


def _unescape(s):
    # mountinfo escapes space, tab, newline and backslash as \ooo
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and len(s[i + 1:i + 4]) == 3 and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text):
    """The Layout described by a mountinfo text (split out so tests can feed their own)."""
    v1: dict[str, tuple[str, str]] = {}  # controller -> (mountpoint, root)
    unified = None
    unified_root = "/"
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        fstype, _source, super_opts = (right.split() + ["", "", ""])[:3]
        root, mountpoint = _unescape(fields[3]), _unescape(fields[4])
        if fstype == "cgroup2":
            # the first cgroup2 mount wins, preferring the canonical places
            if unified is None or mountpoint in (CGROUP_ROOT, CGROUP_ROOT + "/unified"):
                unified, unified_root = mountpoint, root
        elif fstype == "cgroup":
            for opt in super_opts.split(","):
                if opt in _NOT_CONTROLLERS or "=" in opt and not opt.startswith("name="):
                    continue
                v1.setdefault(opt, (mountpoint, root))
    if unified == CGROUP_ROOT:
        return Layout("v2", {}, unified, unified_root)
    if unified is not None and v1:
        return Layout("hybrid", v1, unified, unified_root)
    if unified is not None:
        return Layout("v2", {}, unified, unified_root)
    return Layout("v1", v1, None)


def layout():
    global _cache
    if _cache is None:
        with open("/proc/self/mountinfo") as f:
            _cache = parse_mountinfo(f.read())
    return _cache


def detect():
    """"v1", "v2" or "hybrid"."""
    return layout().mode


def own_cgroups(pid="self"):
    """/proc/<pid>/cgroup as {controller or "name=x" or "" (v2): path}."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _hid, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out
