"""Protobuf wire format without google.protobuf, driven by the generated tables.py files.

For the processes where protobuf's import is too dear: the shim, one per container for its
whole life (~6 MB of RSS each), `pyctl run` (~30 ms of start-up) and `pyctl build`. Stdlib only.
Proto3 semantics: fields at their default value are not written; unknown fields are skipped when
reading; a field the tables do not know is an error when building (stale tables: `make proto`).
Fields with presence (a oneof's members, proto3 `optional` ones) are written whenever set, even
at their default, as protobuf does: a Message knows which are set (WhichOneof), a dict of
fields sets those it holds (None: not set). Setting a oneof's member clears the others.

    req = decode("containerd.task.v2.CreateTaskRequest", payload)   # -> Message: req.id, req.rootfs...
    data = encode("containerd.task.v2.CreateTaskResponse", pid=42)   # nested messages: dicts or Messages
    cfg = Message("pyrunc.containers.v1.ContainerConfig", image="busybox")
    cfg.cmd.extend(["true"]); data = cfg.SerializeToString()

To the type checker, decode, encode and pack are the overloads in the generated messages.pyi,
keyed by the message's full name: decode gives that message's class (its fields typed), encode
and pack take its fields. A stub only, imported under TYPE_CHECKING: nothing more runs here.
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from .messages import google_protobuf_Any_Fields, google_protobuf_Timestamp_Fields

    # a message's fields: {number: (name, kind, message type or '', repeated)}, as the tables have them
    Fields = dict[int, tuple[str, str, str, bool]]
    _SchemaBase = dict[str, Fields]
else:
    _SchemaBase = dict

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_DEFAULTS: "dict[str, object]" = {"string": "", "bytes": b"", "bool": False, "double": 0.0, "message": None}
_NAMES: "dict[str, frozenset[str]]" = {}
_OWN = frozenset({"_type", "_present"})  # a Message's own entries beside its fields
# message full name -> {field with presence: its oneof}, from the same table modules as SCHEMA
ONEOFS: "dict[str, dict[str, str]]" = {}


class WireError(ValueError):
    """Bytes that do not parse as the expected message, or a field its type does not have."""


class _Schema(_SchemaBase):
    """Message full name -> {field number: (name, kind, message type, repeated)}, from the table
    module of the type's API, loaded on first use (with its ONEOFS): the shim never holds pyctl's tables."""

    def __missing__(self, type_name: str) -> "Fields":
        api = "pyrunc" if type_name.startswith("pyrunc.") else "containerd"
        tables = __import__(f"{__package__}.{api}.tables", fromlist=["SCHEMA"])
        ONEOFS.update(tables.ONEOFS)
        self.update(tables.SCHEMA)
        return dict.__getitem__(self, type_name)


SCHEMA = _Schema()


def _names(type_name: str) -> frozenset[str]:
    names = _NAMES.get(type_name)
    if names is None:
        names = _NAMES[type_name] = frozenset(spec[0] for spec in SCHEMA[type_name].values())
    return names


def _check(type_name: str, names: "Iterable[str]") -> None:
    unknown = set(names) - _names(type_name) - _OWN
    if unknown:
        raise WireError(f"{type_name} has no field {sorted(unknown)[0]!r}")


def _default(kind: str, repeated: bool) -> object:
    if kind == "map":
        return {}
    if repeated:
        return []
    return _DEFAULTS.get(kind, 0)


def _set_present(type_name: str, values: "dict[str, Any]", name: str, value: object) -> None:
    """Set `name`, a field with presence, in a message's values (None: unset it, back to its default);
    the other members of its oneof go back to unset, as protobuf's setter does."""
    oneofs, present = ONEOFS[type_name], values["_present"]
    cleared = [name] if value is None else [other for other in present if oneofs[other] == oneofs[name]]
    for field in cleared:
        present.discard(field)
        kind = next(spec[1] for spec in SCHEMA[type_name].values() if spec[0] == field)
        values[field] = _DEFAULTS.get(kind, 0)  # a oneof holds no repeated field
    if value is not None:
        present.add(name)
        values[name] = value


class Message:
    """A message as the generated classes have it: one attribute per field (proto3 defaults for
    absent ones), repeated fields as lists, maps as dicts; nested messages as Message or dict.
    messages.pyi declares a subclass per message with its fields, for the type checker."""

    if TYPE_CHECKING:
        _type: str

    def __init__(self, type_name: str, **values: "Any") -> None:  # a field's value: as in _encode
        _check(type_name, values)
        object.__setattr__(self, "_type", type_name)
        for name, kind, _, repeated in SCHEMA[type_name].values():
            value = values.get(name, _default(kind, repeated))
            object.__setattr__(self, name, dict(value) if kind == "map" else list(value) if repeated else value)
        oneofs = ONEOFS.get(type_name)
        if oneofs is not None:
            object.__setattr__(self, "_present", set())
            for name in [name for name in values if name in oneofs]:  # in order: the last of a oneof stays
                _set_present(type_name, self.__dict__, name, values[name])

    @classmethod
    def _of(cls, type_name: str, values: dict[str, object]) -> "Message":
        msg = object.__new__(cls)
        msg.__dict__["_type"] = type_name
        msg.__dict__.update(values)
        return msg

    def __setattr__(self, name: str, value: object) -> None:
        _check(self._type, [name])
        if name in ONEOFS.get(self._type, ()):
            _set_present(self._type, self.__dict__, name, value)
        else:
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k not in _OWN)
        return f"{self._type}({fields})"

    def WhichOneof(self, group: str) -> "str | None":
        """The member of oneof `group` that is set, None when none is: as protobuf's."""
        oneofs = ONEOFS.get(self._type, {})
        if group not in oneofs.values():
            raise ValueError(f'{self._type} has no "{group}" oneof')
        return next((name for name in self.__dict__["_present"] if oneofs[name] == group), None)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.__dict__ == other.__dict__

    def SerializeToString(self) -> bytes:
        return _encode(self._type, self.__dict__)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32/int64 are sent as 10-byte two's complement
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _double(raw: bytes) -> float:
    from struct import unpack  # here: only pyctl's messages have a double, the shim never reads one

    value: float = unpack("<d", raw)[0]
    return value


def _convert(kind: str, raw: int | bytes) -> object:
    if kind == "string":
        return bytes(raw).decode()
    if kind == "bytes":
        return bytes(raw)
    if kind == "bool":
        return bool(raw)
    if kind in ("int32", "int64", "enum") and isinstance(raw, int) and raw >= 1 << 63:
        return raw - (1 << 64)
    if kind == "double":
        if not isinstance(raw, bytes) or len(raw) != 8:
            raise WireError("a double that is not 8 bytes")
        return _double(raw)
    return raw


def _decode_values(type_name: str, data: bytes) -> dict[str, object]:
    """Field name -> value, every field of the message (proto3 defaults for absent ones)."""
    fields = SCHEMA[type_name]
    oneofs = ONEOFS.get(type_name)
    values: dict[str, object] = {}
    lists: dict[str, list[object]] = {}  # the repeated fields' lists and the maps' dicts, in values too
    maps: dict[str, dict[object, object]] = {}
    for name, kind, _, rep in fields.values():
        if kind == "map":
            values[name] = maps[name] = {}
        elif rep:
            values[name] = lists[name] = []
        else:
            values[name] = _DEFAULTS.get(kind, 0)
    if oneofs is not None:
        values["_present"] = set()
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        raw: int | bytes
        if wire_type == VARINT:
            raw, pos = _read_varint(data, pos)
        elif wire_type == LEN:
            size, pos = _read_varint(data, pos)
            if pos + size > end:
                raise WireError(f"{type_name}: field {number} runs past the end")
            raw, pos = data[pos:pos + size], pos + size
        elif wire_type in (I64, I32):  # of these only double is in the tables: fixed64/fixed32/float skipped
            size = 8 if wire_type == I64 else 4
            if pos + size > end:
                raise WireError(f"{type_name}: field {number} runs past the end")
            spec = fields.get(number)
            raw, pos = data[pos:pos + size], pos + size
            if wire_type == I32 or spec is None or spec[1] != "double":
                continue
        else:
            raise WireError(f"{type_name}: wire type {wire_type} is not supported")
        spec = fields.get(number)
        if spec is None:
            continue
        name, kind, sub, repeated = spec
        if kind in ("map", "message"):
            if not isinstance(raw, bytes):
                raise WireError(f"{type_name}: field {number} is a message but not length-delimited")
            if kind == "map":
                entry = _decode_values(sub, raw)
                maps[name][entry["key"]] = entry["value"]
            elif repeated:
                lists[name].append(_decode(sub, raw))
            else:
                values[name] = _decode(sub, raw)
        elif repeated and isinstance(raw, bytes) and kind not in ("string", "bytes"):
            p, items = 0, lists[name]  # packed, as proto3 writes them
            while p < len(raw):
                n, p = _read_varint(raw, p)
                items.append(_convert(kind, n))
        elif repeated:
            lists[name].append(_convert(kind, raw))
        else:
            values[name] = _convert(kind, raw)
        if oneofs is not None and name in oneofs:
            _set_present(type_name, values, name, values[name])
    return values


def _decode(type_name: str, data: bytes) -> Message:
    return Message._of(type_name, _decode_values(type_name, data))


# A field's value inside the encoder is Any: the table's kind says what it is, and callers were
# checked against messages.pyi (encode's overloads) or hand over a Message.

def _scalar(number: int, kind: str, value: "Any", always: bool = False) -> bytes:
    if kind in ("string", "bytes"):
        raw = value.encode() if kind == "string" else bytes(value)
        return _varint(number << 3 | LEN) + _varint(len(raw)) + raw if raw or always else b""
    if kind == "double":
        from struct import pack  # as in _double

        return _varint(number << 3 | I64) + pack("<d", value) if value or always else b""
    return _varint(number << 3 | VARINT) + _varint(int(value)) if value or always else b""


def _message(number: int, type_name: str, value: "Message | Mapping[str, object]") -> bytes:
    body = _encode(type_name, value.__dict__ if isinstance(value, Message) else value)
    return _varint(number << 3 | LEN) + _varint(len(body)) + body


def _encode(type_name: str, values: "Mapping[str, Any]") -> bytes:
    _check(type_name, values)
    out: list[bytes] = []  # joined once: a context chunk's megabyte is not copied again and again
    oneofs = ONEOFS.get(type_name)
    # the fields with presence that are set: a Message's own record, or those a dict of fields holds
    present = values.get("_present", values.keys()) if oneofs is not None else ()
    for number, (name, kind, sub, repeated) in SCHEMA[type_name].items():
        value = values.get(name)
        if value is None:
            continue
        if kind == "map":
            kkind, vkind = SCHEMA[sub][1][1], SCHEMA[sub][2][1]
            vsub = SCHEMA[sub][2][2]
            for k, v in value.items():  # an entry's key and value are written even when empty, as protobuf does
                body = _scalar(1, kkind, k, True) + (_message(2, vsub, v) if vkind == "message" else _scalar(2, vkind, v, True))
                out.append(_varint(number << 3 | LEN) + _varint(len(body)) + body)
        elif kind == "message":
            for item in value if repeated else [value]:
                out.append(_message(number, sub, item))
        elif repeated and kind not in ("string", "bytes"):
            if value:  # packed, as proto3 writes them
                body = b"".join(_varint(int(v)) for v in value)
                out.append(_varint(number << 3 | LEN) + _varint(len(body)) + body)
        elif repeated:
            for item in value:
                out.append(_scalar(number, kind, item, always=True))
        elif oneofs is not None and name in oneofs and name in present:
            out.append(_scalar(number, kind, value, always=True))
        else:
            out.append(_scalar(number, kind, value))
    return b"".join(out)


def _encode_message(type_name: str, msg: "Message | Mapping[str, object] | None" = None, /,
                    **kwargs: object) -> bytes:
    """Encode from a Message, a dict of field values, or keyword arguments."""
    if isinstance(msg, Message) and kwargs and type_name in ONEOFS:  # kwargs set as on the Message: presence kept
        msg = Message._of(type_name, {**msg.__dict__, "_present": set(msg.__dict__["_present"])})
        for name, value in kwargs.items():
            setattr(msg, name, value)
        kwargs = {}
    values = dict(msg.__dict__ if isinstance(msg, Message) else msg or {})
    values.update(kwargs)
    return _encode(type_name, values)


def timestamp(ns: int) -> "google_protobuf_Timestamp_Fields":
    """google.protobuf.Timestamp from nanoseconds since the epoch."""
    return {"seconds": ns // 1_000_000_000, "nanos": ns % 1_000_000_000}


def _pack(type_name: str, msg: "Message | Mapping[str, object] | None" = None, /,
          **kwargs: object) -> "google_protobuf_Any_Fields":
    """google.protobuf.Any with containerd's type URL: the bare full name."""
    return {"type_url": type_name, "value": _encode_message(type_name, msg, **kwargs)}


if TYPE_CHECKING:  # per message, keyed by its full name: messages.pyi
    from .messages import decode as decode, encode as encode, pack as pack
else:
    decode, encode, pack = _decode, _encode_message, _pack
