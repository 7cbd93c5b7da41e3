"""The OCI config.json of a container: the image config merged with the CLI's options and docker's defaults."""

import os
import signal as _signal
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from .seccomp import default_seccomp

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# moby's oci/caps/defaults.go
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
                "CAP_KILL", "CAP_AUDIT_WRITE"]
# moby's oci/defaults.go
MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# the device nodes docker lets every container use: null, zero, full, random, urandom, tty, ptmx, pts
_ALLOWED_DEVICES = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), ("c", 5, 0), ("c", 5, 1),
                    ("c", 5, 2), ("c", 136, None)]


@dataclass
class Process:
    """What runs: resolved once at create, so a restart runs the same thing."""
    args: list[str]
    env: list[str]
    cwd: str
    user: str           # as given ("" = root), resolved against the rootfs at each start
    tty: bool = False
    stop_signal: str = "SIGTERM"
    stop_timeout: int | None = None  # --stop-timeout; None: docker's 10 s
    group_add: list[str] = field(default_factory=list)  # --group-add, as given; resolved with `user`


@dataclass
class Settings:
    hostname: str
    network: str = "none"
    runtime: str = "pyrunc"
    labels: dict[str, str] = field(default_factory=dict)
    net: dict[str, Any] = field(default_factory=dict)  # networks.manager.Networks.validate's per-container settings
    sysctls: dict[str, str] = field(default_factory=dict)  # linux.sysctl, checked by check_sysctls


def merge_env(base: list[str], extra: list[str]) -> list[str]:
    """KEY=VALUE lists, later keys replacing earlier ones in place, as docker merges them."""
    out: dict[str, str] = {}
    for item in [*base, *extra]:
        key = item.split("=", 1)[0]
        if not key:
            raise InvalidArgument(f"env: invalid variable {item!r}")
        out[key] = item
    return list(out.values())


def resolve_process(image_config: dict[str, Any], *, cmd: list[str], entrypoint: list[str], entrypoint_set: bool,
                    env: list[str], workdir: str, user: str, tty: bool, hostname: str, stop_signal: str = "",
                    stop_timeout: int | None = None, group_add: Sequence[str] = ()) -> Process:
    ic = image_config.get("config") or {}
    ep = list(entrypoint) if entrypoint_set else list(ic.get("Entrypoint") or [])
    if entrypoint_set and ep == [""]:
        ep = []
    # as docker: --entrypoint drops the image's Cmd too
    args = ep + (list(cmd) if cmd else ([] if entrypoint_set else list(ic.get("Cmd") or [])))
    if not args:
        raise InvalidArgument("no command specified")
    base = list(ic.get("Env") or [])
    if not any(e.startswith("PATH=") for e in base):
        base.insert(0, DEFAULT_PATH)
    extra = [f"HOSTNAME={hostname}"] + (["TERM=xterm"] if tty else []) + list(env)
    cwd = workdir or ic.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise InvalidArgument(f"the working directory {cwd!r} is invalid, it needs to be an absolute path")
    stop = stop_signal or ic.get("StopSignal") or "SIGTERM"
    parse_signal(stop)
    check_user(user)
    return Process(args, merge_env(base, extra), cwd, user or ic.get("User") or "", tty, stop, stop_timeout,
                   list(group_add))


def parse_signal(text: str) -> int:
    t = text.strip().upper()
    if t.isdigit():
        n = int(t)
        if 0 < n < 65:
            return n
    else:
        try:
            return int(getattr(_signal.Signals, t if t.startswith("SIG") else "SIG" + t))
        except AttributeError:
            pass
    raise InvalidArgument(f"Invalid signal: {text}")  # moby's pkg/signal, capital and all


# runc's validator: the sysctls a container's own IPC namespace isolates (and all of fs.mqueue.*)
_IPC_SYSCTLS = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                          "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"})


def check_sysctls(sysctls: dict[str, str], network: str) -> None:
    """Only the sysctls of a namespace the container has of its own, in runc's words (docker passes them on to
    runc, which refuses the rest at start; here nothing is created)."""
    for key in sysctls:
        if key in _IPC_SYSCTLS or key.startswith("fs.mqueue.") or key == "kernel.domainname":
            continue
        if key.startswith("net."):
            if network == "host":
                raise InvalidArgument(f'sysctl "{key}" not allowed in host network namespace')
            continue
        if key == "kernel.hostname":
            raise InvalidArgument('sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" '
                                  'field')
        raise InvalidArgument(f'sysctl "{key}" is not in a separate kernel namespace')


MAX_ID = 2147483647  # runc's and docker's bound: above it, setresuid(-1) means "unchanged"
ID_RANGE = f"uids and gids must be in range 0-{MAX_ID}"
_TABLE_MAX = 1 << 20  # far more than any real passwd or group: a hostile image's is read no further
_MAX_LINKS = 40


def _id(text: str, user: str) -> int | None:
    """A uid or gid given as a number, range-checked; None for a name."""
    if not text.lstrip("-").isdigit():
        return None
    n = int(text)
    if not 0 <= n <= MAX_ID:
        raise InvalidArgument(f'invalid argument "{user}" for "-u, --user" flag: {ID_RANGE}')
    return n


def check_user(user: str) -> None:
    """Refuse numeric ids out of range when the container is made, not only when it starts."""
    name, _, group = user.partition(":")
    _id(name, user)
    _id(group, user)


def _dir_in(layer: Path, parts: list[str]) -> int | None | bool:
    """An O_PATH descriptor of the directory `parts` in one layer, never through the layer's symlinks;
    None if absent there, False if something else in the layer hides what the layers below have."""
    try:
        fd = os.open(layer, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    for comp in parts:
        try:
            nxt = os.open(comp, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except FileNotFoundError:
            nxt = None
        os.close(fd)
        if nxt is None:
            return None
        fd = nxt
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            os.close(fd)
            return False
    return fd


def _top(layers: list[Path], parts: list[str]) -> tuple[int, os.stat_result] | None:
    """(descriptor of its directory, lstat) of `parts` in the top layer that has it; None if none does."""
    for layer in layers:
        fd = _dir_in(layer, parts[:-1])
        if fd is False:
            return None
        if fd is None:
            continue
        try:
            st = os.stat(parts[-1], dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            os.close(fd)
            continue
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # an overlay whiteout
            os.close(fd)
            return None
        return fd, st
    return None


def _read_table(layers: list[Path], rel: str) -> bytes | None:
    """The file at `rel` in the merged view of `layers` (top first), symlinks followed inside it as in the
    container, never on the host; None if there is none."""
    todo = list(reversed(rel.split("/")))
    done: list[str] = []
    links = 0
    while todo:
        comp = todo.pop()
        if comp in ("", "."):
            continue
        if comp == "..":
            done = done[:-1]
            continue
        found = _top(layers, [*done, comp])
        if found is None:
            return None
        fd, st = found
        try:
            if not stat.S_ISLNK(st.st_mode):
                done.append(comp)
                continue
            links += 1
            if links > _MAX_LINKS:
                return None
            target = os.readlink(comp, dir_fd=fd)
        finally:
            os.close(fd)
        done = [] if target.startswith("/") else done
        todo.extend(reversed(target.split("/")))
    found = _top(layers, done) if done else None
    if found is None:
        return None
    fd, st = found
    try:
        if not stat.S_ISREG(st.st_mode):
            return None
        f = os.open(done[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(f, "rb") as fh:
        data = fh.read(_TABLE_MAX + 1)
    if len(data) > _TABLE_MAX:
        raise InvalidArgument(f"/{rel} of the image is larger than {_TABLE_MAX >> 20} MiB")
    return data


def _table(layers: list[Path], rel: str) -> list[list[str]]:
    try:
        data = _read_table(layers, rel)
    except OSError:
        data = None
    if not data:
        return []
    return [line.split(":") for line in data.decode(errors="replace").splitlines()
            if line and not line.startswith("#")]


def _row_id(row: list[str], i: int, user: str) -> int | None:
    try:
        n = int(row[i])
    except ValueError:
        return None
    if not 0 <= n <= MAX_ID:
        raise InvalidArgument(f"unable to find user {user}: {ID_RANGE}")
    return n


def _matches(row: list[str], name: str, number: int | None) -> bool:
    """runc's filter: a number only ever matches the id field, a name only the name field."""
    if number is None:
        return row[0] == name
    return row[2].isascii() and row[2].isdigit() and len(row[2]) <= len(str(MAX_ID)) and int(row[2]) == number


def _added_groups(group_add: Sequence[str], groups: list[list[str]]) -> list[int]:
    """--group-add as docker 20.10's runc GetAdditionalGroups: a group of the container's /etc/group by name
    or by its id as written, taken once; else a number within the id range; else refused in its words."""
    found: list[int] = []
    for wanted in group_add:
        gid = next((g for row in groups if len(row) >= 3 and row[2].isascii() and row[2].isdigit()
                    and wanted in (row[0], str(g := int(row[2]))) and g <= MAX_ID and g not in found), None)
        if gid is None:
            try:
                gid = int(wanted)
            except ValueError:
                raise InvalidArgument(f"Unable to find group {wanted}: no matching entries in group file") from None
            if not 0 <= gid <= MAX_ID:
                raise InvalidArgument(ID_RANGE)
        found.append(gid)
    return found


def resolve_user(user: str, lowers: list[Path], upper: Path, group_add: Sequence[str] = ()) -> dict[str, Any]:
    """user[:group] by name or number against the container's /etc/passwd and /etc/group, as docker 20.10's
    getUser over runc's GetExecUser: a number is only ever an id and a name only a name; no user at all is
    uid 0's entry, or 0:0 even where the image has no passwd (FROM scratch, distroless).
    additionalGids is the primary gid, then (without an explicit group) every group that lists the user
    found in passwd, in the file's order, then --group-add's; docker's duplicates are dropped, as runc drops
    them before setgroups."""
    layers = [upper, *lowers]
    check_user(user)
    name, _, group = user.partition(":")
    uid_arg = 0 if not name else _id(name, user)
    passwd = _table(layers, "etc/passwd")
    groups = _table(layers, "etc/group")
    uid = gid = None
    username = ""
    for row in passwd:
        if len(row) >= 4 and _matches(row, name, uid_arg):
            uid, gid = _row_id(row, 2, name), _row_id(row, 3, name)
            if uid is not None and gid is not None:
                username = row[0]
                break
            uid = gid = None
    if uid is None:
        if uid_arg is None:
            raise InvalidArgument(f"unable to find user {name}: no matching entries in passwd file")
        uid, gid = uid_arg, 0
    sgids: list[int] = []
    if group:
        gid_arg = _id(group, user)
        for row in groups:
            if len(row) >= 3 and _matches(row, group, gid_arg) and (g := _row_id(row, 2, group)) is not None:
                gid = g
                break
        else:
            if gid_arg is None:
                raise InvalidArgument(f"unable to find group {group}: no matching entries in group file")
            gid = gid_arg
    elif username:
        sgids = [g for r in groups if len(r) >= 4 and username in r[3].split(",")
                 and (g := _row_id(r, 2, username)) is not None]
    sgids += _added_groups(group_add, groups)
    return {"uid": uid, "gid": gid, "additionalGids": list(dict.fromkeys([gid, *sgids]))}


def build(proc: Process, settings: Settings, *, user: dict[str, Any], etc: dict[str, Path], cgroups_path: str,
          volumes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """`volumes`: the user's mounts (-v, --mount, --tmpfs), parents first; each replaces a default at its path."""
    caps = list(DEFAULT_CAPS)
    devices = [{"allow": False, "access": "rwm"}] + [
        {"allow": True, "type": t, "major": ma, **({"minor": mi} if mi is not None else {}), "access": "rwm"}
        for t, ma, mi in _ALLOWED_DEVICES]
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if settings.network != "host":
        namespaces.append({"type": "network"})
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755",
                                                                                "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]
    etc_binds = [{"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]}
                 for dest, src in etc.items()]
    taken = {m["destination"] for m in volumes}
    # a user's /etc must come before the /etc/hosts bound over it: sorted by depth, as docker does
    mounts = [m for m in mounts if m["destination"] not in taken] + sorted(
        [m for m in etc_binds if m["destination"] not in taken] + list(volumes),
        key=lambda m: len(m["destination"].rstrip("/").split("/")))
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": proc.tty, "user": user, "args": proc.args, "env": proc.env, "cwd": proc.cwd,
            "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": False,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": settings.hostname,
        "mounts": mounts,
        "linux": {
            "resources": {"devices": devices},
            "cgroupsPath": cgroups_path,
            "namespaces": namespaces,
            **({"sysctl": dict(settings.sysctls)} if settings.sysctls else {}),
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
            **({"seccomp": sec} if (sec := default_seccomp(tuple(caps))) else {}),
        },
    }


def etc_files(directory: Path, hostname: str, network: str) -> dict[str, Path]:
    """/etc/hostname, /etc/hosts and /etc/resolv.conf, written once per container and bound in."""
    directory.mkdir(parents=True, exist_ok=True)
    hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
    if network == "host":
        try:
            hosts = Path("/etc/hosts").read_text()
        except OSError:
            pass
    try:
        resolv = Path("/etc/resolv.conf").read_text()
    except OSError:
        resolv = ""
    files = {"/etc/hostname": hostname + "\n", "/etc/hosts": hosts, "/etc/resolv.conf": resolv}
    out = {}
    for dest, text in files.items():
        p = directory / Path(dest).name
        if not p.exists():
            p.write_text(text)
        out[dest] = p
    return out
