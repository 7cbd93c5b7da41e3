"""Typed records for pyrunc: dataclass-like classes that cost nothing at import.

`dataclasses` generates each class's methods with exec(); for the ~35 classes
of config.json that was 15 ms of every pyrunc start (plus 8 ms importing
dataclasses itself). A Record reads its fields from the class annotations
once, in __init_subclass__, and shares one generic __init__. from_dict builds
records from decoded JSON, naming the field path on error.

For the type checker, Record is a dataclass_transform base (keyword-only fields, `field`
their specifier), so constructors and fields are checked as a dataclass's would be; the
bounded integer kinds are plain ints to it. None of that runs: pyrunc never imports typing.
"""

import types

from . import jsonio
from .errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms of every start)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import ClassVar, TypeAlias, TypeVar, dataclass_transform, overload

    T = TypeVar("T")
else:
    def dataclass_transform(**_):  # typing's, which only records its arguments for checkers
        return lambda cls: cls

_MISSING = object()


class Field:
    __slots__ = ("default", "factory", "json")

    def __init__(self, default=_MISSING, factory=None, json=None):
        self.default = default
        self.factory = factory
        self.json = json


if TYPE_CHECKING:  # what `field` gives, to the checker: the field's value
    @overload
    def field(*, default: T, json: str | None = None) -> T: ...
    @overload
    def field(*, default_factory: Callable[[], T], json: str | None = None) -> T: ...


def field(*, default=_MISSING, default_factory=None, json=None):
    """A field's default (or default factory) and, where it is irregular, its JSON name."""
    return Field(default, default_factory, json)


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
class Record:
    # (name, type, Field) per annotated field, in declaration order; set per subclass
    _fields: "ClassVar[tuple[tuple[str, object, Field], ...]]" = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        fields = []
        for name, tp in cls.__dict__.get("__annotations__", {}).items():
            spec = cls.__dict__.get(name, _MISSING)
            if not isinstance(spec, Field):
                spec = Field(default=spec)
            if spec.default is _MISSING and name in cls.__dict__:
                delattr(cls, name)
            elif spec.factory is None:
                setattr(cls, name, spec.default)
            else:
                delattr(cls, name)
            fields.append((name, tp, spec))
        cls._fields = tuple(fields)

    def __init__(self, **kw):
        for name, _, spec in self._fields:
            if name in kw:
                value = kw.pop(name)
            elif spec.factory is not None:
                value = spec.factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            setattr(self, name, value)
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(kw)}")

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n, _, _ in self._fields)

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n, _, _ in self._fields)
        return f"{type(self).__name__}({inner})"

    @classmethod
    def required(cls, spec):
        return spec.default is _MISSING and spec.factory is None


# --- integer kinds: annotations that bound a JSON integer ----------------------

INT64_BOUNDS = (-(1 << 63), (1 << 63) - 1)
ID_BOUNDS = (0, (1 << 31) - 1)

if TYPE_CHECKING:  # to the checker each is an int, as its values are (from_dict checks the bounds)
    Int64: TypeAlias = int
    UInt64: TypeAlias = int
    UInt32: TypeAlias = int
    UInt16: TypeAlias = int
    Id: TypeAlias = int
    MemoryBytes: TypeAlias = int
    OomScoreAdj: TypeAlias = int
else:
    class Int64(int):
        """Annotation only: a JSON integer within Go's int64, as runtime-spec types the field (plain int too)."""
        bounds = INT64_BOUNDS

    class UInt64(int):
        bounds = (0, (1 << 64) - 1)

    class UInt32(int):
        bounds = (0, (1 << 32) - 1)

    class UInt16(int):
        bounds = (0, (1 << 16) - 1)

    class Id(int):
        """A uid or gid: the kernel's -1 means "unchanged", so runc allows only 0-2147483647."""
        bounds = ID_BOUNDS

    class MemoryBytes(int):
        """A memory limit in bytes; -1 is unlimited (cgroup v1 would wrap anything past int64 to 0)."""
        bounds = (-1, (1 << 63) - 1)

    class OomScoreAdj(int):
        bounds = (-1000, 1000)


ID_RANGE = "uids and gids must be in range 0-2147483647"
_INT_BOUNDS = {int: INT64_BOUNDS}


# --- loading records from decoded JSON --------------------------------------------

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
        out = {}
        for k, v in value.items():
            sub = f"{path}.{k}" if k.isprintable() else f"{path}[{_describe(k)}]"
            out[_string(k, sub)] = _convert(item, v, sub)
        return out
    if _is_record(tp):
        return _load(tp, value, path)
    if tp is str:
        return _string(value, path)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected a boolean, got {_describe(value)}")
        return value
    # bool is a subclass of int in Python but not in JSON
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{path}: expected an integer, got {_describe(value)}")
    lo, hi = _INT_BOUNDS.get(tp) or tp.bounds
    if not lo <= value <= hi:
        if tp is Id:
            raise ConfigError(f"{path}: {ID_RANGE}, got {value}")
        raise ConfigError(f"{path}: expected an integer in range {lo} to {hi}, got {value}")
    return value


def _string(value, path):
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected a string, got {_describe(value)}")
    # paths, argv and sysctl names go to the kernel as C strings
    if "\0" in value:
        raise ConfigError(f"{path}: must not contain a NUL character")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ConfigError(f"{path}: not valid UTF-8 (lone surrogate escape)") from None
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
