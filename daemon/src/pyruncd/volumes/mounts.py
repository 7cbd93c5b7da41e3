"""A container's mounts from docker's flags: -v, --mount, --tmpfs, --volumes-from and the image's VOLUMEs.

One parser for them all, run at create: its MountPoints are saved with the container and become OCI
mounts at each start. Error wording follows moby's volume/mounts parser and the docker CLI's --mount.
"""

import csv
import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument

NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_NAME = re.compile(rf"^{NAME_CHARS}+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # docker 23+ marks the volumes it names itself

_RW_MODES = {"rw", "ro"}
_LABEL_MODES = {"z", "Z"}
PROPAGATIONS = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
_COPY_MODES = {"nocopy"}
_CONSISTENCY = {"consistent", "cached", "delegated", "default"}

# mount flags (for merging tmpfs options): option -> the flag it sets or clears; propagations share one key
_FLAG_KEYS = {
    "ro": "rdonly", "rw": "rdonly", "nosuid": "nosuid", "suid": "nosuid", "nodev": "nodev", "dev": "nodev",
    "noexec": "noexec", "exec": "noexec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
    "remount": "remount", "mand": "mand", "nomand": "mand", "atime": "noatime", "noatime": "noatime",
    "diratime": "nodiratime", "nodiratime": "nodiratime", "bind": "bind", "rbind": "rbind",
    "relatime": "relatime", "norelatime": "relatime", "strictatime": "strictatime",
    "nostrictatime": "strictatime", **{p: "propagation" for p in PROPAGATIONS | {"unbindable", "runbindable"}},
}
_TMPFS_DATA = {"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"}
TMPFS_DEFAULTS = ["noexec", "nosuid", "nodev"]


@dataclass
class MountPoint:
    """One mount of a container, as docker's MountPoint; saved in the container's config."""
    type: str                 # volume, bind or tmpfs
    destination: str
    source: str = ""          # a bind's host path; a volume's _data directory once attached
    name: str = ""            # a volume's name
    rw: bool = True
    mode: str = ""            # the -v mode as given ("z" for a named -v volume, as docker shows it)
    propagation: str = ""     # binds: rprivate unless asked
    recursive: bool = True    # rbind, unless --mount bind-nonrecursive
    copy_data: bool = False   # an empty volume is seeded from the image's content at destination
    anonymous: bool = False   # named by us: `rm -v` and `run --rm` remove it
    labels: dict[str, str] = field(default_factory=dict)  # --mount volume-label, for a volume it creates
    data: str = ""            # tmpfs options (size=, mode=, exec, ...)
    listed: bool = True       # shown in inspect's Mounts; --tmpfs ones are not (HostConfig.Tmpfs holds them)
    create_source: bool = False  # -v binds: a missing host path is made, as docker does


@dataclass
class MountFlags:
    """The flags as given on the command line; parsed and validated here, not in the CLI."""
    volumes: list[str] = field(default_factory=list)       # -v
    mounts: list[str] = field(default_factory=list)        # --mount
    tmpfs: list[str] = field(default_factory=list)         # --tmpfs
    volumes_from: list[str] = field(default_factory=list)  # --volumes-from


def validate_name(name: str) -> None:
    if len(name) == 1:
        raise InvalidArgument("volume name is too short, names should be at least two alphanumeric characters")
    if not _NAME.match(name):
        raise InvalidArgument(f"{json.dumps(name)} includes invalid characters for a local volume name, only "
                              f"{json.dumps(NAME_CHARS)} are allowed. If you intended to pass a host directory, "
                              "use absolute path")


def new_name() -> str:
    return secrets.token_hex(32)


def _valid_mode(mode: str) -> bool:
    if not mode:
        return True
    counts = [0] * 5
    for o in mode.split(","):
        for i, group in enumerate((_RW_MODES, _LABEL_MODES, PROPAGATIONS, _COPY_MODES, _CONSISTENCY)):
            if o in group:
                counts[i] += 1
                break
        else:
            return False
    return max(counts) <= 1


def _clean(path: str) -> str:
    out = os.path.normpath(path)
    return "/" + out.lstrip("/") if out.startswith("//") else out


class _ConfigError(Exception):
    """moby's errMountConfig: a mount that is well-formed but wrong."""

    def __init__(self, kind: str, text: str):
        super().__init__(f'invalid mount config for type "{kind}": {text}')


def _check_target(kind: str, target: str) -> None:
    if not target:
        raise _ConfigError(kind, "field Target must not be empty")
    if _clean(target) == "/":
        raise _ConfigError(kind, "invalid specification: destination can't be '/'")
    if not target.startswith("/"):
        raise _ConfigError(kind, f"invalid mount path: '{target}' mount path must be absolute")


def parse_volume(raw: str) -> MountPoint:
    """-v [SOURCE:]TARGET[:MODE]: a bind when SOURCE is absolute, else a named (or anonymous) volume."""
    invalid = f"invalid volume specification: '{raw}'"
    arr = raw.split(":", 3)
    if not arr[0]:
        raise InvalidArgument(invalid)
    mode = ""
    if len(arr) == 1:
        source, target = "", arr[0]
    elif len(arr) == 2:
        if _valid_mode(arr[1]):  # /foo:rw names no volume
            raise InvalidArgument(invalid)
        source, target = arr
    elif len(arr) == 3:
        source, target, mode = arr
    else:
        raise InvalidArgument(invalid)
    if not _valid_mode(mode):
        raise InvalidArgument(f"invalid mode: {mode}")
    opts = mode.split(",") if mode else []
    kind = "bind" if source.startswith("/") else "volume"
    try:
        _check_target(kind, target)
        if kind == "bind" and source and not source.startswith("/"):
            raise _ConfigError(kind, f"invalid mount path: '{source}' mount path must be absolute")
    except _ConfigError as e:
        raise InvalidArgument(f"{invalid}: {e}") from None
    if kind == "volume" and source:
        validate_name(source)
    m = MountPoint(kind, _clean(target), rw="ro" not in opts, mode=mode)
    if kind == "bind":
        m.source = _clean(source)
        m.propagation = next((o for o in opts if o in PROPAGATIONS), "rprivate")
        m.create_source = True
    elif source:
        m.name, m.copy_data = source, "nocopy" not in opts
        m.mode = mode or "z"
    else:  # -v /path: an anonymous volume, as docker's CLI turns it into Config.Volumes
        m.anonymous, m.copy_data = True, True
    return m


_BOOL = {"1": True, "t": True, "T": True, "true": True, "TRUE": True, "True": True,
         "0": False, "f": False, "F": False, "false": False, "FALSE": False, "False": False}
_MOUNT_KEYS = {"type", "source", "src", "target", "destination", "dst", "readonly", "ro", "bind-propagation",
               "bind-nonrecursive", "consistency", "volume-nocopy", "volume-driver", "volume-label", "tmpfs-size",
               "tmpfs-mode"}
_BOOL_KEYS = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"}


def parse_bytes(text: str) -> int:
    """go-units RAMInBytes: 64m, 1g, 512k, 1024 (binary multiples)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[bB]?", text.strip())
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * 1024 ** " kmgtp".index(m.group(2).lower() or " "))


def _parse_mount_fields(raw: str) -> MountPoint:
    fields = next(csv.reader([raw]), [])
    kind, source, target = "", "", ""
    ro, nocopy, nonrecursive = False, False, False
    propagation, size, mode = "", 0, 0
    labels: dict[str, str] = {}
    families: set[str] = set()
    for f in fields:
        key, eq, value = f.partition("=")
        key = key.strip().lower()
        if not eq:
            if key not in _BOOL_KEYS:
                raise ValueError(f"invalid field '{f}' must be a key=value pair")
            value = "true"
        if key not in _MOUNT_KEYS:
            raise ValueError(f"unexpected key '{key}' in '{f}'")
        if key.startswith(("bind-", "volume-", "tmpfs-")):
            families.add(key.split("-")[0])
        if key in _BOOL_KEYS and value not in _BOOL:
            raise ValueError(f"invalid value for {key}: {value}")
        if key == "type":
            kind = value
        elif key in ("source", "src"):
            source = value
        elif key in ("target", "destination", "dst"):
            target = value
        elif key in ("readonly", "ro"):
            ro = _BOOL[value]
        elif key == "volume-nocopy":
            nocopy = _BOOL[value]
        elif key == "bind-nonrecursive":
            nonrecursive = _BOOL[value]
        elif key == "bind-propagation":
            propagation = value
        elif key == "volume-driver":
            if value != "local":
                raise ValueError(f"volume-driver {value!r}: only the local driver is supported")
        elif key == "volume-label":
            k, _, v = value.partition("=")
            labels[k] = v
        elif key == "tmpfs-size":
            try:
                size = parse_bytes(value)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
        elif key == "tmpfs-mode":
            try:
                mode = int(value, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {value}") from None
    if not kind:
        raise ValueError("type is required")
    if not target:
        raise ValueError("target is required")
    for family in families:
        if family != kind:
            raise ValueError(f"cannot mix '{family}-*' options with mount type '{kind}'")
    m = MountPoint(kind, target, source=source, rw=not ro, recursive=not nonrecursive, labels=labels)
    m.propagation = propagation
    m.copy_data = not nocopy
    if kind == "tmpfs":
        m.data = ",".join((["ro"] if ro else []) + ([f"mode={mode:o}"] if mode else [])
                          + ([f"size={_size_text(size)}"] if size else []))
    return m


def _size_text(size: int) -> str:
    for suffix, div in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % div == 0:
            return f"{size // div}{suffix}"
    return str(size)


def parse_mount(raw: str, exists: Callable[[str], bool] = os.path.exists) -> MountPoint:
    """--mount type=bind|volume|tmpfs,source=,target=,readonly,... (the bind source must exist)."""
    try:
        m = _parse_mount_fields(raw)
    except ValueError as e:
        raise InvalidArgument(f'invalid argument "{raw}" for "--mount" flag: {e}') from None
    try:
        _check_target(m.type, m.destination)
        if m.type == "bind":
            if not m.source:
                raise _ConfigError("bind", "field Source must not be empty")
            if m.propagation and m.propagation not in PROPAGATIONS:
                raise _ConfigError("bind", f"invalid propagation mode: {m.propagation}")
            if not m.source.startswith("/"):
                raise _ConfigError("bind", f"invalid mount path: '{m.source}' mount path must be absolute")
            if not exists(m.source):
                raise _ConfigError("bind", f"bind source path does not exist: {m.source}")
            m.source, m.propagation, m.copy_data = _clean(m.source), m.propagation or "rprivate", False
        elif m.type == "volume":
            if m.source:
                validate_name(m.source)
                m.name, m.source = m.source, ""
            elif not m.rw:
                raise _ConfigError("volume", "must not set ReadOnly mode when using anonymous volumes")
            else:
                m.anonymous = True
        elif m.type == "tmpfs":
            if m.source:
                raise _ConfigError("tmpfs", "field Source must not be specified")
            m.copy_data = False
        else:
            raise _ConfigError(m.type, "mount type unknown")
    except _ConfigError as e:
        raise InvalidArgument(str(e)) from None
    m.destination = _clean(m.destination)
    return m


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """moby's MergeTmpfsOptions: a later flag or key=value wins over an earlier one of its kind."""
    seen: set[str] = set()
    out: list[str] = []
    for opt in reversed(options):
        if opt == "defaults":
            continue
        key = _FLAG_KEYS.get(opt)
        if key is None:
            k, eq, _ = opt.partition("=")
            if not eq or k not in _TMPFS_DATA:
                raise InvalidArgument(f"Invalid tmpfs option [{json.dumps(k)}{' ' + json.dumps(_) if eq else ''}]")
            key = "=" + k
        if key in seen:
            continue
        seen.add(key)
        out.insert(0, opt)
    return out


def parse_tmpfs(raw: str) -> MountPoint:
    """--tmpfs PATH[:OPTIONS]"""
    dest, _, data = raw.partition(":")
    try:
        if not dest.startswith("/"):
            raise ValueError(f"invalid mount path: '{dest}' mount path must be absolute")
        if _clean(dest) == "/":
            raise ValueError("invalid specification: destination can't be '/'")
        merge_tmpfs_options(data.split(",") if data else [])
    except (ValueError, InvalidArgument) as e:
        raise InvalidArgument(f'invalid argument "{raw}" for "--tmpfs" flag: {e}') from None
    return MountPoint("tmpfs", _clean(dest), data=data, listed=False)


def parse_volumes_from(raw: str) -> tuple[str, bool]:
    """--volumes-from CONTAINER[:ro|rw] -> (container, read-only?)"""
    if not raw:
        raise InvalidArgument("volumes-from specification cannot be an empty string")
    name, _, mode = raw.partition(":")
    opts = mode.split(",") if mode else []
    if not _valid_mode(mode) or any(o in PROPAGATIONS or o in _COPY_MODES for o in opts):
        raise InvalidArgument(f"invalid mode: {mode}")
    return name, "ro" in opts


def resolve(flags: MountFlags, image_volumes: Iterable[str], mounts_of: Callable[[str], list[MountPoint]],
            exists: Callable[[str], bool] = os.path.exists) -> list[MountPoint]:
    """Every mount of a new container, in docker's precedence: --volumes-from, overridden by -v binds
    and --mount (a destination twice among those is an error), then --tmpfs, then -v /path and the
    image's VOLUMEs as anonymous volumes where nothing else is mounted. Anonymous volumes get their names."""
    by_dest: dict[str, MountPoint] = {}
    for raw in flags.volumes_from:
        name, ro = parse_volumes_from(raw)
        for m in mounts_of(name):
            if m.listed:
                by_dest[m.destination] = MountPoint(**{**m.__dict__, "rw": m.rw and not ro, "mode": "",
                                                       "copy_data": False, "labels": {}})
    explicit: set[str] = set()
    anonymous: list[MountPoint] = []

    def claim(m: MountPoint) -> None:
        if m.destination in explicit:
            raise InvalidArgument(f"Duplicate mount point: {m.destination}")
        explicit.add(m.destination)
        by_dest[m.destination] = m

    for raw in flags.volumes:
        m = parse_volume(raw)
        if m.anonymous:
            anonymous.append(m)
        else:
            claim(m)
    for raw in flags.mounts:
        claim(parse_mount(raw, exists))
    for raw in flags.tmpfs:
        claim(parse_tmpfs(raw))
    for dest in image_volumes:
        if dest.startswith("/"):
            anonymous.append(MountPoint("volume", _clean(dest), anonymous=True, copy_data=True))
    for m in anonymous:
        if m.destination not in by_dest:
            by_dest[m.destination] = m
    out = list(by_dest.values())
    for m in out:
        if m.type == "volume" and not m.name:
            m.name = new_name()
    return out


def _depth(dest: str) -> int:
    return len(dest.rstrip("/").split("/"))


def oci_mounts(mounts: list[MountPoint]) -> list[dict[str, Any]]:
    """The OCI entries, parents before children (docker sorts by depth too)."""
    out = []
    for m in sorted(mounts, key=lambda m: _depth(m.destination)):
        if m.type == "tmpfs":
            opts = merge_tmpfs_options(TMPFS_DEFAULTS + ["rprivate"] + (m.data.split(",") if m.data else []))
            out.append({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
            continue
        opts = ["rbind" if m.recursive else "bind"] + ([] if m.rw else ["ro"]) + [m.propagation or "rprivate"]
        out.append({"destination": m.destination, "type": "bind", "source": m.source, "options": opts})
    return out


def inspect_mounts(mounts: list[MountPoint]) -> list[dict[str, Any]]:
    """inspect's "Mounts", as docker shows them."""
    out = []
    for m in mounts:
        if not m.listed:
            continue
        doc: dict[str, Any] = {"Type": m.type}
        if m.type == "volume":
            doc["Name"] = m.name
        doc.update(Source=m.source, Destination=m.destination)
        if m.type == "volume":
            doc["Driver"] = "local"
        doc.update(Mode=m.mode, RW=m.rw, Propagation=m.propagation)
        out.append(doc)
    return out

