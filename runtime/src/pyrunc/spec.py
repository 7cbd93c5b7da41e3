"""config.json as typed records, parsed and validated once.

The loader walks the records' annotations, so each class below is the whole
description of its JSON object: field names are the snake_case of the JSON
camelCase name unless a field says otherwise with ``json=``. Unknown JSON
properties are ignored, as the runtime spec requires. Every error names the
field path, e.g. ``process.user.uid: expected an integer, got "x"``.
"""

import os
import types

from . import jsonio
from .errors import ConfigError
from .record import Record, field

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


def _json(name, default=None, factory=None):
    """A field whose JSON name is not the camelCase of its Python name."""
    return field(default=default, default_factory=factory, json=name)


# --- process ---------------------------------------------------------------

class Rlimit(Record):
    type: str
    hard: int
    soft: int


class User(Record):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: list[int] = field(default_factory=list)
    username: str | None = None


class Capabilities(Record):
    bounding: list[str] | None = None
    effective: list[str] | None = None
    permitted: list[str] | None = None
    inheritable: list[str] | None = None
    ambient: list[str] | None = None


class ConsoleSize(Record):
    height: int = 0
    width: int = 0


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
    oom_score_adj: int | None = None
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
    timeout: int | None = None


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
    container_id: int = _json("containerID", 0)
    host_id: int = _json("hostID", 0)
    size: int = 0


class Device(Record):
    type: str
    path: str
    major: int | None = None
    minor: int | None = None
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


class DeviceCgroup(Record):
    allow: bool
    type: str | None = None
    major: int | None = None
    minor: int | None = None
    access: str | None = None


class Memory(Record):
    limit: int | None = None
    reservation: int | None = None
    swap: int | None = None
    kernel: int | None = None
    kernel_tcp: int | None = _json("kernelTCP")
    swappiness: int | None = None
    disable_oom_killer: bool | None = _json("disableOOMKiller")
    use_hierarchy: bool | None = None
    check_before_update: bool | None = None


class CPU(Record):
    shares: int | None = None
    quota: int | None = None
    burst: int | None = None
    period: int | None = None
    realtime_runtime: int | None = None
    realtime_period: int | None = None
    cpus: str | None = None
    mems: str | None = None
    idle: int | None = None


class Pids(Record):
    limit: int


class WeightDevice(Record):
    major: int
    minor: int
    weight: int | None = None
    leaf_weight: int | None = None


class ThrottleDevice(Record):
    major: int
    minor: int
    rate: int


class BlockIO(Record):
    weight: int | None = None
    leaf_weight: int | None = None
    weight_device: list[WeightDevice] = field(default_factory=list)
    throttle_read_bps_device: list[ThrottleDevice] = field(default_factory=list)
    throttle_write_bps_device: list[ThrottleDevice] = field(default_factory=list)
    throttle_read_iops_device: list[ThrottleDevice] = _json("throttleReadIOPSDevice", factory=list)
    throttle_write_iops_device: list[ThrottleDevice] = _json("throttleWriteIOPSDevice", factory=list)


class HugepageLimit(Record):
    page_size: str
    limit: int


class NetworkPriority(Record):
    name: str
    priority: int


class Network(Record):
    class_id: int | None = _json("classID")
    priorities: list[NetworkPriority] = field(default_factory=list)


class Resources(Record):
    devices: list[DeviceCgroup] = field(default_factory=list)
    memory: Memory | None = None
    cpu: CPU | None = None
    pids: Pids | None = None
    block_io: BlockIO | None = _json("blockIO")
    hugepage_limits: list[HugepageLimit] = field(default_factory=list)
    network: Network | None = None
    unified: dict[str, str] = field(default_factory=dict)


class SeccompArg(Record):
    index: int
    value: int
    op: str
    value_two: int = 0


class SeccompSyscall(Record):
    names: list[str]
    action: str
    errno_ret: int | None = None
    args: list[SeccompArg] = field(default_factory=list)


class Seccomp(Record):
    default_action: str
    default_errno_ret: int | None = None
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


# --- the loader --------------------------------------------------------------

_TYPE_WORDS = {int: "an integer", str: "a string", bool: "a boolean", list: "an array", dict: "an object"}


def _describe(value):
    return jsonio.dumps(value)[:60]


def _json_name(name, f):
    if f.json:
        return f.json
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _is_record(tp):
    return isinstance(tp, type) and issubclass(tp, Record)


def _convert(tp, value, path):
    if isinstance(tp, types.UnionType):  # "X | None": null means absent
        if value is None:
            return None
        (tp,) = [t for t in tp.__args__ if t is not type(None)]
    origin = getattr(tp, "__origin__", None)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected an array, got {_describe(value)}")
        (item,) = tp.__args__
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected an object, got {_describe(value)}")
        _, item = tp.__args__
        return {k: _convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if _is_record(tp):
        return _load(tp, value, path)
    # bool is a subclass of int in Python but not in JSON
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: expected {_TYPE_WORDS[tp]}, got {_describe(value)}")
    return value


def _load(cls, obj, path):
    if not isinstance(obj, dict):
        raise ConfigError(f"{path or 'config'}: expected an object, got {_describe(obj)}")
    kwargs = {}
    for name, tp, f in cls._fields:
        key = _json_name(name, f)
        sub = f"{path}.{key}" if path else key
        if key in obj and obj[key] is not None:
            kwargs[name] = _convert(tp, obj[key], sub)
        elif Record.required(f):
            raise ConfigError(f"{sub}: required field is missing")
    return cls(**kwargs)


def from_dict(cls, obj, path=""):
    """Build record ``cls`` from decoded JSON, naming the field path on error."""
    return _load(cls, obj, path)


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
    if spec.hostname and not _new_namespace(linux, "uts"):
        raise ConfigError("hostname: unable to set hostname without a private UTS namespace")
    if spec.domainname and not _new_namespace(linux, "uts"):
        raise ConfigError("domainname: unable to set domainname without a private UTS namespace")
    if linux.rootfs_propagation not in (None, "", "private", "rprivate", "slave", "rslave",
                                        "shared", "rshared", "unbindable", "runbindable"):
        raise ConfigError(f"linux.rootfsPropagation: unknown propagation {linux.rootfs_propagation!r}")
    for key in linux.sysctl:
        ns = _sysctl_namespace(key)
        if ns is None:
            raise ConfigError(f"linux.sysctl.{key}: not in a separate kernel namespace")
        if not _new_namespace(linux, ns):
            raise ConfigError(f"linux.sysctl.{key}: needs a private {ns} namespace")
    for i, dev in enumerate(linux.devices):
        if dev.type not in ("c", "b", "u", "p"):
            raise ConfigError(f"linux.devices[{i}].type: expected c, b, u or p, got {dev.type!r}")
        if not os.path.isabs(dev.path):
            raise ConfigError(f"linux.devices[{i}].path: must be an absolute path")
        if dev.type != "p" and (dev.major is None or dev.minor is None):
            raise ConfigError(f"linux.devices[{i}]: major and minor are required for type {dev.type!r}")


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


def _new_namespace(linux, kind):
    ns = linux.namespace(kind)
    return ns is not None and not ns.path


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
