"""Limits and security of a container: docker's flags parsed and checked, then applied to the OCI spec.

Flags arrive as the user typed them; every error names its flag in docker's words. What is
kept (Resources, Security) is plain data stored with the container; `apply` turns it into
config.json's linux.resources, rlimits, capabilities, devices and seccomp.
"""

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument
from .seccomp import default_seccomp

# docker's go-units RAMInBytes: binary multiples, an optional "b" or "ib"
_SIZE = re.compile(r"^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
MIN_MEMORY = 6 * 1024 * 1024  # moby's linuxMinMemory
CPU_PERIOD = 100_000          # µs, the period docker pairs with --cpus
_CPUSET = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")

# capability numbers 0..40 (linux/capability.h)
ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
            "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
            "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
            "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE"]
ULIMITS = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss",
           "rtprio", "rttime", "sigpending", "stack", "as"}
# /dev entries docker's HostDevices skips when --privileged hands the host's devices in
_SKIP_DEV = {"pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"}


def _bad(value: str, flag: str, why: str) -> InvalidArgument:
    return InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: {why}')


def parse_size(text: str, flag: str) -> int:
    m = _SIZE.match(text.strip())
    if not m:
        raise _bad(text, flag, f"invalid size: '{text}'")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def _parse_int(text: str, flag: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise _bad(text, flag, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def _parse_swap(text: str) -> int:
    return -1 if text.strip() == "-1" else parse_size(text, "--memory-swap")


def _parse_cpus(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise _bad(text, "--cpus", f"failed to parse {text} as a rational number") from None
    nano = round(value * 1e9)
    ncpu = os.cpu_count() or 1
    if nano < 0 or nano > ncpu * 1_000_000_000:
        raise InvalidArgument(f"Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available")
    return nano


def _parse_cpuset(text: str) -> str:
    if not _CPUSET.match(text):
        raise InvalidArgument(f"Invalid value {text} for cpuset cpus")
    top = max(int(x) for x in re.split(r"[-,]", text))
    if top >= (os.cpu_count() or 1):
        raise InvalidArgument(f"Requested CPUs are not available - requested {text}, available: "
                              f"0-{(os.cpu_count() or 1) - 1}")
    return text


@dataclass
class Resources:
    """What linux.resources gets; 0 or "" is unset. memory_swap is memory + swap, -1 unlimited, as docker."""
    memory: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpuset_cpus: str = ""
    pids_limit: int = 0  # -1 unlimited

    def check(self) -> None:
        if self.memory and self.memory < MIN_MEMORY:
            raise InvalidArgument("Minimum memory limit allowed is 6MB")
        if self.memory_swap > 0 and not self.memory:
            raise InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage")
        if self.memory_swap > 0 and self.memory_swap < self.memory:
            raise InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage")
        if self.cpu_shares < 0:
            raise InvalidArgument("invalid CPU shares: must be positive")

    def to_oci(self) -> dict[str, Any]:
        """linux.resources without devices: what create writes and update sends."""
        out: dict[str, Any] = {}
        if self.memory:
            out["memory"] = {"limit": self.memory, "swap": self.memory_swap or 2 * self.memory}
        cpu: dict[str, Any] = {}
        if self.nano_cpus:
            cpu.update(period=CPU_PERIOD, quota=self.nano_cpus * CPU_PERIOD // 1_000_000_000)
        if self.cpu_shares:
            cpu["shares"] = self.cpu_shares
        if self.cpuset_cpus:
            cpu["cpus"] = self.cpuset_cpus
        if cpu:
            out["cpu"] = cpu
        if self.pids_limit:
            out["pids"] = {"limit": self.pids_limit if self.pids_limit > 0 else -1}
        return out


def parse_resources(*, memory: str = "", memory_swap: str = "", cpus: str = "", cpu_shares: str = "",
                    cpuset_cpus: str = "", pids_limit: str = "", base: Resources | None = None) -> Resources:
    """Flags over `base` (update keeps what is not given); the result is checked as a whole."""
    r = Resources(**vars(base)) if base else Resources()
    if memory:
        r.memory = parse_size(memory, "-m, --memory")
        if base and not memory_swap and 0 < r.memory_swap < r.memory:
            raise InvalidArgument("Memory limit should be smaller than already set memoryswap limit, update "
                                  "the memoryswap at the same time")
    if memory_swap:
        r.memory_swap = _parse_swap(memory_swap)
    if cpus:
        r.nano_cpus = _parse_cpus(cpus)
    if cpu_shares:
        r.cpu_shares = _parse_int(cpu_shares, "-c, --cpu-shares")
    if cpuset_cpus:
        r.cpuset_cpus = _parse_cpuset(cpuset_cpus)
    if pids_limit:
        n = _parse_int(pids_limit, "--pids-limit")
        r.pids_limit = n if n > 0 else -1
    r.check()
    return r


@dataclass
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass
class Device:
    host: str
    container: str
    permissions: str = "rwm"


@dataclass
class Security:
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    read_only: bool = False
    no_new_privileges: bool = False
    seccomp: str = ""  # "" docker's default profile, "unconfined", or a profile's JSON
    devices: list[Device] = field(default_factory=list)
    ulimits: list[Ulimit] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Security":
        d = dict(d)
        d["devices"] = [Device(**x) for x in d.get("devices", [])]
        d["ulimits"] = [Ulimit(**x) for x in d.get("ulimits", [])]
        return cls(**d)


def parse_ulimit(text: str) -> Ulimit:
    name, eq, limits = text.partition("=")
    if not eq or not limits:
        raise _bad(text, "--ulimit", f"invalid ulimit argument: {text}")
    if name not in ULIMITS:
        raise _bad(text, "--ulimit", f"invalid ulimit type: {name}")
    soft_s, colon, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if colon else soft
    except ValueError:
        raise _bad(text, "--ulimit", f"invalid ulimit argument: {text}") from None
    if soft > hard:
        raise _bad(text, "--ulimit", f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Ulimit(name, soft, hard)


def parse_device(text: str) -> Device:
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise _bad(text, "--device", f"bad format for path: {text}")
    host, container, perms = parts[0], parts[0], "rwm"
    if len(parts) == 3:
        container, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if parts[1] and set(parts[1]) <= set("rwm"):
            perms = parts[1]
        else:
            container = parts[1]
    if not perms or not set(perms) <= set("rwm"):
        raise _bad(text, "--device", f"invalid device mode: {perms}")
    if not host.startswith("/") or not container.startswith("/"):
        raise _bad(text, "--device", f"bad format for path: {text}")
    return Device(host, container, perms)


def _cap_name(text: str) -> str:
    name = text.strip().upper()
    if name == "ALL":
        return name
    name = name if name.startswith("CAP_") else "CAP_" + name
    if name not in ALL_CAPS:
        raise InvalidArgument(f'unknown capability: "{name}"')
    return name


def parse_security(*, cap_add: list[str], cap_drop: list[str], privileged: bool, read_only: bool,
                   security_opt: list[str], devices: list[str], ulimits: list[str]) -> Security:
    s = Security([_cap_name(c) for c in cap_add], [_cap_name(c) for c in cap_drop], privileged, read_only)
    for opt in security_opt:
        key, eq, value = opt.partition("=")
        if key == "no-new-privileges" and (not eq or value in ("true", "false")):
            s.no_new_privileges = value != "false"
        elif key == "seccomp" and value:
            if value != "unconfined":
                try:
                    json.loads(value)
                except ValueError:
                    raise InvalidArgument(f"Invalid --security-opt: seccomp profile is not JSON: {value[:60]}") from None
            s.seccomp = value
        else:
            raise InvalidArgument(f'Invalid --security-opt: "{opt}"')
    s.devices = [parse_device(d) for d in devices]
    for d in s.devices:
        _device_entry(d.host, d.container)  # refused at create, as a missing or non-device path
    seen: set[str] = set()
    for u in map(parse_ulimit, ulimits):
        if u.name not in seen:  # as docker: the first of a name wins
            seen.add(u.name)
            s.ulimits.append(u)
    return s


def bounding_caps() -> list[str]:
    """The capabilities we may hand on: our own bounding set (root here may lack some, CAP_SYS_RESOURCE)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapBnd:"):
                mask = int(line.split()[1], 16)
                return [c for i, c in enumerate(ALL_CAPS) if mask >> i & 1]
    except OSError:
        pass
    return list(ALL_CAPS)


def capabilities(defaults: list[str], s: Security) -> list[str]:
    """docker's TweakCapabilities: ALL in --cap-add gives every one, ALL in --cap-drop starts from none."""
    if s.privileged or "ALL" in s.cap_add:
        caps = bounding_caps()
    elif "ALL" in s.cap_drop:
        caps = []
    else:
        caps = list(defaults)
    if "ALL" not in s.cap_drop:
        caps = [c for c in caps if c not in s.cap_drop]
    for c in s.cap_add:
        if c != "ALL" and c not in caps:
            caps.append(c)
    return caps


def _device_entry(host: str, container: str) -> dict[str, Any]:
    try:
        st = os.stat(host)
    except OSError as e:
        raise InvalidArgument(f'error gathering device information while adding custom device "{host}": '
                              f"{(e.strerror or str(e)).lower()}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise InvalidArgument(f'error gathering device information while adding custom device "{host}": '
                              "not a device node")
    return {"path": container, "type": kind, "major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev),
            "fileMode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}


def _host_devices(top: Path = Path("/dev")) -> list[dict[str, Any]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if not (dirpath == str(top) and d in _SKIP_DEV)]
        for f in filenames:
            p = os.path.join(dirpath, f)
            if p == "/dev/console" or os.path.islink(p):
                continue
            try:
                out.append(_device_entry(p, p))
            except InvalidArgument:
                continue
    return out


def oci_seccomp(profile: dict[str, Any]) -> dict[str, Any]:
    """A docker-format profile (--security-opt seccomp=PATH) as linux.seccomp: its archMap and its
    name/names spellings folded into the OCI fields."""
    archs = list(profile.get("architectures") or [])
    for entry in profile.get("archMap") or []:
        archs += [entry["architecture"], *(entry.get("subArchitectures") or [])]
    out = {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ALLOW"), "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    for rule in profile.get("syscalls") or []:
        call = {"names": list(rule.get("names") or [rule["name"]]), "action": rule["action"],
                "args": list(rule.get("args") or [])}
        if "errnoRet" in rule:
            call["errnoRet"] = rule["errnoRet"]
        out["syscalls"].append(call)
    return out


def apply(doc: dict[str, Any], r: Resources, s: Security) -> None:
    """Fold the limits and security settings into a config.json built with docker's defaults."""
    linux, process = doc["linux"], doc["process"]
    linux["resources"].update(r.to_oci())
    caps = capabilities(process["capabilities"]["bounding"], s)
    process["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    process["noNewPrivileges"] = s.no_new_privileges
    if s.ulimits:
        process["rlimits"] = [{"type": "RLIMIT_" + u.name.upper(), "soft": u.soft, "hard": u.hard}
                              for u in s.ulimits]
    doc["root"]["readonly"] = s.read_only
    devices = []
    if s.privileged:
        devices = _host_devices()
        linux["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
        linux["maskedPaths"], linux["readonlyPaths"] = [], []
        for m in doc["mounts"]:
            if m["destination"] in ("/sys", "/sys/fs/cgroup"):
                m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
    for d in s.devices:
        entry = _device_entry(d.host, d.container)
        devices = [x for x in devices if x["path"] != d.container] + [entry]
        if not s.privileged:
            linux["resources"]["devices"].append({"allow": True, "type": entry["type"], "major": entry["major"],
                                                  "minor": entry["minor"], "access": d.permissions})
    if devices:
        linux["devices"] = devices
    linux.pop("seccomp", None)
    if s.privileged or s.seccomp == "unconfined":
        return
    profile = oci_seccomp(json.loads(s.seccomp)) if s.seccomp else default_seccomp(tuple(caps))
    if profile:
        linux["seccomp"] = profile
