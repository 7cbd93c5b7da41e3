"""config.json as typed records, parsed and validated once.

The loader walks the records' annotations, so each class below is the whole
description of its JSON object: field names are the snake_case of the JSON
camelCase name unless a field says otherwise with ``json=``. Unknown JSON
properties are ignored, as the runtime spec requires. Every error names the
field path, e.g. ``process.user.uid: expected an integer, got "x"``.
"""

import os

from . import jsonio
from .errors import ConfigError
from .record import (
    Id,
    Int64,
    MemoryBytes,
    OomScoreAdj,
    Record,
    UInt16,
    UInt32,
    UInt64,
    field,
)
from .record import from_dict as from_dict  # commands load sections through spec

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


# --- process ---------------------------------------------------------------

class Rlimit(Record):
    type: str
    hard: UInt64
    soft: UInt64


class User(Record):
    uid: Id = 0
    gid: Id = 0
    umask: UInt32 | None = None
    additional_gids: list[Id] = field(default_factory=list)
    username: str | None = None


class Capabilities(Record):
    bounding: list[str] | None = None
    effective: list[str] | None = None
    permitted: list[str] | None = None
    inheritable: list[str] | None = None
    ambient: list[str] | None = None


class ConsoleSize(Record):
    height: UInt16 = 0
    width: UInt16 = 0


class Process(Record):
    cwd: str
    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    terminal: bool = False
    console_size: ConsoleSize | None = None
    user: User = field(default_factory=User)
    capabilities: Capabilities | None = None
    rlimits: list[Rlimit] = field(default_factory=list)
    no_new_privileges: bool = False
    apparmor_profile: str | None = None
    oom_score_adj: OomScoreAdj | None = None
    selinux_label: str | None = None


# --- root, mounts, hooks -----------------------------------------------------

class Root(Record):
    path: str
    readonly: bool = False


class Mount(Record):
    destination: str
    source: str | None = None
    type: str | None = None
    options: list[str] = field(default_factory=list)


class Hook(Record):
    path: str
    args: list[str] | None = None
    env: list[str] | None = None
    timeout: UInt32 | None = None


class Hooks(Record):
    prestart: list[Hook] = field(default_factory=list)
    create_runtime: list[Hook] = field(default_factory=list)
    create_container: list[Hook] = field(default_factory=list)
    start_container: list[Hook] = field(default_factory=list)
    poststart: list[Hook] = field(default_factory=list)
    poststop: list[Hook] = field(default_factory=list)


# --- linux -------------------------------------------------------------------

class Namespace(Record):
    type: str
    path: str | None = None


class IDMapping(Record):
    container_id: UInt32 = field(default=0, json="containerID")
    host_id: UInt32 = field(default=0, json="hostID")
    size: UInt32 = 0


class Device(Record):
    type: str
    path: str
    major: UInt32 | None = None
    minor: UInt32 | None = None
    file_mode: UInt32 | None = None
    uid: Id | None = None
    gid: Id | None = None


class DeviceCgroup(Record):
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


class Memory(Record):
    limit: MemoryBytes | None = None
    reservation: MemoryBytes | None = None
    swap: MemoryBytes | None = None
    kernel: MemoryBytes | None = None
    kernel_tcp: MemoryBytes | None = field(default=None, json="kernelTCP")
    swappiness: int | None = None  # -1 is "unset", as runc reads it
    disable_oom_killer: bool | None = field(default=None, json="disableOOMKiller")
    use_hierarchy: bool | None = None
    check_before_update: bool | None = None


class CPU(Record):
    shares: UInt64 | None = None
    quota: Int64 | None = None
    burst: UInt64 | None = None
    period: UInt64 | None = None
    realtime_runtime: Int64 | None = None
    realtime_period: UInt64 | None = None
    cpus: str | None = None
    mems: str | None = None
    idle: int | None = None


class Pids(Record):
    limit: int


class WeightDevice(Record):
    major: int
    minor: int
    weight: UInt16 | None = None
    leaf_weight: UInt16 | None = None


class ThrottleDevice(Record):
    major: int
    minor: int
    rate: UInt64


class BlockIO(Record):
    weight: UInt16 | None = None
    leaf_weight: UInt16 | None = None
    weight_device: list[WeightDevice] = field(default_factory=list)
    throttle_read_bps_device: list[ThrottleDevice] = field(default_factory=list)
    throttle_write_bps_device: list[ThrottleDevice] = field(default_factory=list)
    throttle_read_iops_device: list[ThrottleDevice] = field(default_factory=list, json="throttleReadIOPSDevice")
    throttle_write_iops_device: list[ThrottleDevice] = field(default_factory=list, json="throttleWriteIOPSDevice")


class HugepageLimit(Record):
    page_size: str
    limit: UInt64


class NetworkPriority(Record):
    name: str
    priority: UInt32


class Network(Record):
    class_id: UInt32 | None = field(default=None, json="classID")
    priorities: list[NetworkPriority] = field(default_factory=list)


class Resources(Record):
    devices: list[DeviceCgroup] = field(default_factory=list)
    memory: Memory | None = None
    cpu: CPU | None = None
    pids: Pids | None = None
    block_io: BlockIO | None = field(default=None, json="blockIO")
    hugepage_limits: list[HugepageLimit] = field(default_factory=list)
    network: Network | None = None
    unified: dict[str, str] = field(default_factory=dict)


class SeccompArg(Record):
    index: UInt32
    value: UInt64
    op: str
    value_two: UInt64 = 0


class SeccompSyscall(Record):
    names: list[str]
    action: str
    errno_ret: UInt32 | None = None
    args: list[SeccompArg] = field(default_factory=list)


class Seccomp(Record):
    default_action: str
    default_errno_ret: UInt32 | None = None
    architectures: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    listener_path: str | None = None
    listener_metadata: str | None = None
    syscalls: list[SeccompSyscall] = field(default_factory=list)


class Linux(Record):
    namespaces: list[Namespace] = field(default_factory=list)
    uid_mappings: list[IDMapping] = field(default_factory=list)
    gid_mappings: list[IDMapping] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    cgroups_path: str | None = None
    resources: Resources | None = None
    rootfs_propagation: str | None = None
    seccomp: Seccomp | None = None
    sysctl: dict[str, str] = field(default_factory=dict)
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    mount_label: str | None = None

    def namespace(self, kind):
        """The Namespace entry of this type, or None when the host's is shared."""
        for ns in self.namespaces:
            if ns.type == kind:
                return ns
        return None


class Spec(Record):
    oci_version: str
    root: Root | None = None
    process: Process | None = None
    hostname: str | None = None
    domainname: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    hooks: Hooks = field(default_factory=Hooks)
    annotations: dict[str, str] = field(default_factory=dict)
    linux: Linux = field(default_factory=Linux)


# --- semantic validation -----------------------------------------------------

def _validate(spec):
    if spec.root is None:
        raise ConfigError("root: required field is missing")
    if not spec.root.path:
        raise ConfigError("root.path: must not be empty")
    proc = spec.process
    if proc is not None:
        if not proc.args:
            raise ConfigError("process.args: must contain at least one argument")
        if not os.path.isabs(proc.cwd):
            raise ConfigError(f"process.cwd: must be an absolute path, got {proc.cwd!r}")
        for i, entry in enumerate(proc.env):
            if "=" not in entry:
                raise ConfigError(f"process.env[{i}]: expected KEY=VALUE, got {entry!r}")
    for i, m in enumerate(spec.mounts):
        if not os.path.isabs(m.destination):
            raise ConfigError(f"mounts[{i}].destination: must be an absolute path, got {m.destination!r}")
    linux = spec.linux
    seen = set()
    for i, ns in enumerate(linux.namespaces):
        if ns.type not in NAMESPACE_TYPES:
            raise ConfigError(f"linux.namespaces[{i}].type: unknown namespace type {ns.type!r}")
        if ns.type in seen:
            raise ConfigError(f"linux.namespaces[{i}].type: duplicate namespace {ns.type!r}")
        seen.add(ns.type)
        if ns.path and not os.path.isabs(ns.path):
            raise ConfigError(f"linux.namespaces[{i}].path: must be an absolute path")
    user_ns = linux.namespace("user")
    if user_ns is not None and user_ns.path is None:
        if not linux.uid_mappings or not linux.gid_mappings:
            raise ConfigError("linux.uidMappings: a new user namespace needs uidMappings and gidMappings")
    elif linux.uid_mappings or linux.gid_mappings:
        raise ConfigError("linux.uidMappings: mappings need a new user namespace in linux.namespaces")
    for name, mappings in (("uidMappings", linux.uid_mappings), ("gidMappings", linux.gid_mappings)):
        for i, m in enumerate(mappings):
            # the kernel refuses a map that reaches 4294967295, its "no id"
            if m.size == 0 or max(m.container_id, m.host_id) + m.size > 0xFFFFFFFF:
                raise ConfigError(f"linux.{name}[{i}]: size must be at least 1 and the range must end below "
                                  f"4294967295, got containerID {m.container_id}, hostID {m.host_id}, "
                                  f"size {m.size}")
    if linux.resources is not None:
        _validate_resources(linux.resources)
    for kind in ("uts", "network", "ipc"):
        if linux.namespace(kind) is None:
            refuse_shared_namespace(spec, kind)
    if linux.namespace("mount") is None and (linux.masked_paths or linux.readonly_paths):
        # masking them in the caller's mount namespace would hide them from the host (runc's words)
        name = "linux.maskedPaths" if linux.masked_paths else "linux.readonlyPaths"
        raise ConfigError(f"{name}: unable to restrict sys entries without a private MNT namespace")
    if linux.rootfs_propagation not in (None, "", "private", "rprivate", "slave", "rslave",
                                        "shared", "rshared", "unbindable", "runbindable"):
        raise ConfigError(f"linux.rootfsPropagation: unknown propagation {linux.rootfs_propagation!r}")
    for key in linux.sysctl:
        if _sysctl_namespace(key) is None:
            raise ConfigError(f"linux.sysctl.{key}: not in a separate kernel namespace")
    for i, dev in enumerate(linux.devices):
        if dev.type not in ("c", "b", "u", "p"):
            raise ConfigError(f"linux.devices[{i}].type: expected c, b, u or p, got {dev.type!r}")
        if not os.path.isabs(dev.path):
            raise ConfigError(f"linux.devices[{i}].path: must be an absolute path")
        if dev.type != "p" and (dev.major is None or dev.minor is None):
            raise ConfigError(f"linux.devices[{i}]: major and minor are required for type {dev.type!r}")


MIN_MEMORY = 6 * 1024 * 1024  # docker's minimum: below it not even the runtime's init fits


def _validate_resources(res):
    m = res.memory
    if m is not None and m.limit is not None and 0 < m.limit < MIN_MEMORY:
        raise ConfigError(f"linux.resources.memory.limit: minimum memory limit allowed is 6MB, got {m.limit}")


UTS_SYSCTLS = ("kernel.hostname", "kernel.domainname")
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
               "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def _sysctl_namespace(key):
    """Which namespace isolates this sysctl (runc's list), or None if none does."""
    if key.startswith("net."):
        return "network"
    if key in UTS_SYSCTLS:
        return "uts"
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        return "ipc"
    return None


def refuse_shared_namespace(spec, kind):
    """Raise if hostname or a sysctl needs a namespace of this kind that would be the host's.

    Called when the config has no entry of this kind, and by create when the entry's path is the
    namespace pyrunc runs in: as runc, a namespace joined by path is private unless it is that one.
    """
    if kind == "uts":
        if spec.hostname:
            raise ConfigError("hostname: unable to set hostname without a private UTS namespace")
        if spec.domainname:
            raise ConfigError("domainname: unable to set domainname without a private UTS namespace")
    for key in spec.linux.sysctl:
        if _sysctl_namespace(key) == kind:
            raise ConfigError(f"linux.sysctl.{key}: needs a private {kind} namespace")


def load(bundle):
    """Read and validate <bundle>/config.json; returns a Spec."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError("JSON specification file config.json not found") from None
    return parse(raw)


def parse(raw):
    try:
        obj = jsonio.loads(raw)
    except ValueError as e:
        raise ConfigError(f"config.json: invalid JSON: {e}") from None
    spec = from_dict(Spec, obj)
    _validate(spec)
    return spec
