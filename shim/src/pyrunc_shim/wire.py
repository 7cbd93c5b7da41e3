"""Protobuf wire format for the shim's messages, driven by the generated tables in schema.py.

The shim lives as long as its container, one per container, so its memory matters more than
anything: google.protobuf would add ~6 MB to every shim. Proto3 semantics: fields at their
default value are not written; unknown fields are skipped when reading.

    req = decode("containerd.task.v2.CreateTaskRequest", payload)   # -> Message, req.id, req.rootfs...
    data = encode("containerd.task.v2.CreateTaskResponse", pid=42)
"""

from .schema import SCHEMA

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_DEFAULTS = {"string": "", "bytes": b"", "bool": False}


class WireError(ValueError):
    """Bytes that do not parse as the expected message."""


class Message:
    """A decoded message: one attribute per field, defaults for absent ones."""

    def __init__(self, type_name: str, **fields) -> None:
        self._type = type_name
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "_type")
        return f"{self._type}({fields})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and self.__dict__ == other.__dict__


def _default(kind: str, repeated: bool):
    if repeated:
        return []
    if kind == "message":
        return None
    return _DEFAULTS.get(kind, 0)


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


def _unpack_varints(data: bytes) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        n, pos = _read_varint(data, pos)
        out.append(n)
    return out


def _signed(kind: str, n: int) -> int:
    if kind in ("int32", "int64", "enum") and n >= 1 << 63:
        return n - (1 << 64)
    return n


def decode(type_name: str, data: bytes) -> Message:
    fields = SCHEMA[type_name]
    values = {name: _default(kind, rep) for name, kind, _, rep in fields.values()}
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            raw, pos = _read_varint(data, pos)
            value = raw
        elif wire_type == LEN:
            size, pos = _read_varint(data, pos)
            if pos + size > end:
                raise WireError(f"{type_name}: field {number} runs past the end")
            value = data[pos:pos + size]
            pos += size
        elif wire_type == I64:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == I32:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise WireError(f"{type_name}: wire type {wire_type} is not supported")
        spec = fields.get(number)
        if spec is None:
            continue
        name, kind, sub, repeated = spec
        if repeated and wire_type == LEN and kind not in ("message", "string", "bytes"):
            values[name] += [_signed(kind, v) for v in _unpack_varints(bytes(value))]  # proto3 packs these
            continue
        if kind == "message":
            value = decode(sub, value)
        elif kind == "string":
            value = bytes(value).decode()
        elif kind == "bytes":
            value = bytes(value)
        elif kind == "bool":
            value = bool(value)
        else:
            value = _signed(kind, value)
        if repeated:
            values[name].append(value)
        else:
            values[name] = value
    return Message(type_name, **values)


def encode(type_name: str, msg: "Message | dict | None" = None, **kwargs) -> bytes:
    """Encode from a Message, a dict of field values, or keyword arguments (nested: dicts too)."""
    values = msg.__dict__ if isinstance(msg, Message) else dict(msg or {})
    values.update(kwargs)
    names = {spec[0] for spec in SCHEMA[type_name].values()}
    unknown = set(values) - names - {"_type"}
    if unknown:
        raise WireError(f"{type_name} has no field {sorted(unknown)[0]!r}")
    out = bytearray()
    for number, (name, kind, sub, repeated) in SCHEMA[type_name].items():
        value = values.get(name)
        if repeated and value and kind not in ("message", "string", "bytes"):
            body = b"".join(_varint(int(v)) for v in value)  # packed, as proto3 writes them
            out += _varint(number << 3 | LEN) + _varint(len(body)) + body
            continue
        for item in (value or []) if repeated else [value]:
            if item is None:
                continue
            if kind == "message":
                out += _varint(number << 3 | LEN)
                body = encode(sub, item)
                out += _varint(len(body)) + body
            elif kind in ("string", "bytes"):
                raw = item.encode() if kind == "string" else bytes(item)
                if raw or repeated:
                    out += _varint(number << 3 | LEN) + _varint(len(raw)) + raw
            elif item or repeated:
                out += _varint(number << 3 | VARINT) + _varint(int(item))
    return bytes(out)


def timestamp(ns: int) -> dict:
    """google.protobuf.Timestamp from nanoseconds since the epoch."""
    return {"seconds": ns // 1_000_000_000, "nanos": ns % 1_000_000_000}


def pack(type_name: str, msg: "Message | dict | None" = None, **kwargs) -> dict:
    """google.protobuf.Any with containerd's type URL: the bare full name."""
    return {"type_url": type_name, "value": encode(type_name, msg, **kwargs)}
