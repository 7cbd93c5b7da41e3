"""`RUN --mount=...` specs, read with BuildKit's rules and words
(frontend/dockerfile/instructions/commands_runmount.go)."""

import csv
import re
from dataclasses import dataclass
from enum import Enum


class MountType(Enum):
    BIND = "bind"
    CACHE = "cache"
    TMPFS = "tmpfs"
    SECRET = "secret"
    SSH = "ssh"


class Sharing(Enum):
    SHARED = "shared"
    PRIVATE = "private"
    LOCKED = "locked"


class MountError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class Mount:
    type: MountType = MountType.BIND
    target: str = ""
    source: str = ""
    from_stage: str = ""  # a stage name or an image reference; empty: the build context (bind) or nothing
    readonly: bool = True
    cache_id: str = ""
    sharing: Sharing | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    required: bool = False
    size: int | None = None  # tmpfs size limit in bytes


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$", re.IGNORECASE)
_TRUE, _FALSE = ("1", "t", "true"), ("0", "f", "false")
_KEYS = {"target": "target", "dst": "target", "destination": "target", "source": "source", "src": "source"}


def _fields(spec: str) -> list[str]:
    try:
        return next(csv.reader([spec]))
    except (csv.Error, StopIteration) as error:
        raise MountError(f"failed to parse csv mounts: {error}") from None


def _bool(key: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise MountError(f"invalid value for {key}: {value}")


def _number(key: str, value: str, base: int) -> int:
    try:
        return int(value, base)
    except ValueError:
        raise MountError(f"invalid value {value} for {key}") from None


def _size(value: str) -> int:
    match = _SIZE.match(value.strip())
    if match is None:
        raise MountError(f"invalid value for size: {value}")
    return int(float(match.group(1)) * 1024 ** " kmgtp".index(match.group(2).lower() or " "))


def mount_source_stage(spec: str) -> str | None:
    """The `from=` of a mount spec as written: a dependency on a stage or image, known before the build."""
    for field in _fields(spec):
        key, _, value = field.partition("=")
        if key.lower() == "from":
            if re.search(r"\$.", value):
                raise MountError(f"'{key}' doesn't support variable expansion, define alias stage instead")
            return value
    return None


def parse_mount(spec: str) -> Mount:
    """A mount spec after variable substitution."""
    kind = MountType.BIND
    paths = {"target": "", "source": ""}
    from_stage = cache_id = ""
    readonly: bool | None = None
    required = False
    sharing: Sharing | None = None
    numbers: dict[str, int] = {}
    size: int | None = None
    for field in _fields(spec):
        key, has_value, value = field.partition("=")
        key = key.lower()
        takes_required = kind in (MountType.SECRET, MountType.SSH)
        if not has_value:
            if key in ("readonly", "ro", "readwrite", "rw"):
                readonly = key in ("readonly", "ro")
            elif key == "required" and takes_required:
                required = True
            elif key == "required":
                raise MountError(f"unexpected key '{key}' for mount type '{kind.value}'")
            else:
                raise MountError(f"invalid field '{field}' must be a key=value pair")
            continue
        if key == "type":
            try:
                kind = MountType(value.lower())
            except ValueError:
                raise MountError(f'unsupported mount type "{value}"') from None
        elif key in _KEYS:
            paths[_KEYS[key]] = value
        elif key == "from":
            from_stage = value
        elif key in ("readonly", "ro"):
            readonly = _bool(key, value)
        elif key in ("readwrite", "rw"):
            readonly = not _bool(key, value)
        elif key == "required" and takes_required:
            required = _bool(key, value)
        elif key == "size" and kind is MountType.TMPFS:
            size = _size(value)
        elif key in ("required", "size"):
            raise MountError(f"unexpected key '{key}' for mount type '{kind.value}'")
        elif key == "id":
            cache_id = value
        elif key == "sharing":
            try:
                sharing = Sharing(value.lower())
            except ValueError:
                raise MountError(f'unsupported sharing value "{value}"') from None
        elif key in ("mode", "uid", "gid"):
            numbers[key] = _number(key, value, 8 if key == "mode" else 10)
        else:
            raise MountError(f"unexpected key '{key}' in '{field}'")
    if readonly is None:
        # BuildKit's default: caches and tmpfs are writable, the rest read-only
        readonly = kind not in (MountType.CACHE, MountType.TMPFS)
    mount = Mount(
        type=kind,
        target=paths["target"],
        source=paths["source"],
        from_stage=from_stage,
        readonly=readonly,
        cache_id=cache_id,
        sharing=sharing,
        mode=numbers.get("mode"),
        uid=numbers.get("uid"),
        gid=numbers.get("gid"),
        required=required,
        size=size,
    )
    return _validated(mount)


def _validated(mount: Mount) -> Mount:
    kind = mount.type.value
    if mount.type not in (MountType.SECRET, MountType.SSH, MountType.CACHE):
        for name in ("mode", "uid", "gid"):
            if getattr(mount, name) is not None:
                raise MountError(f'{name} not allowed for "{kind}" type mounts')
    if mount.type is MountType.SECRET:
        if mount.from_stage:
            raise MountError("secret mount should not have a from")
        if mount.sharing is not None:
            raise MountError("secret mount should not define sharing")
        if not (mount.source or mount.target or mount.cache_id):
            raise MountError("invalid secret mount. one of source, target required")
        if mount.source and mount.cache_id:
            raise MountError("both source and id can't be set")
    if mount.sharing is not None and mount.type is not MountType.CACHE:
        raise MountError(f"invalid cache sharing set for {kind} mount")
    return mount
