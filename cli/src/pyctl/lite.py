"""pyrunc.containers.v1 messages and calls without google.protobuf and grpcio (see h2grpc).

Messages are built and read as with the generated module (`pb.ContainerConfig(image=..)`,
`cfg.entrypoint.extend(..)`, `resp.id`), from the tables of lite_schema. Proto3 semantics: fields
at their default are not written, unknown fields are skipped when reading; a field the schema
does not know is an error when building (the schema is stale: run cli/tools/gen_lite_schema.py).
"""

from .h2grpc import Channel, RpcError
from .lite_schema import METHODS, SCHEMA, SERVICE

_PACKAGE = SERVICE.rpartition(".")[0] + "."
VARINT, LEN = 0, 2


class Message:
    def __init__(self, type_name: str, **values) -> None:
        fields = SCHEMA[type_name]
        names = {spec[0] for spec in fields.values()}
        unknown = set(values) - names
        if unknown:
            raise TypeError(f"{type_name} has no field {sorted(unknown)[0]!r}")
        object.__setattr__(self, "_type", type_name)
        for name, kind, _, repeated in fields.values():
            default = ({} if kind == "map" else [] if repeated else None if kind == "message"
                       else "" if kind == "string" else b"" if kind == "bytes" else False if kind == "bool" else 0)
            value = values.get(name, default)
            object.__setattr__(self, name, dict(value) if kind == "map" else list(value) if repeated else value)

    def __setattr__(self, name: str, value) -> None:
        if not any(spec[0] == name for spec in SCHEMA[self._type].values()):
            raise AttributeError(f"{self._type} has no field {name!r}")
        object.__setattr__(self, name, value)

    def SerializeToString(self) -> bytes:
        return encode(self)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _scalar(number: int, kind: str, value, always: bool = False) -> bytes:
    if kind in ("string", "bytes"):
        raw = value.encode() if kind == "string" else bytes(value)
        return _varint(number << 3 | LEN) + _varint(len(raw)) + raw if raw or always else b""
    return _varint(number << 3 | VARINT) + _varint(int(value)) if value or always else b""


def encode(msg: Message) -> bytes:
    out = bytearray()
    for number, (name, kind, sub, repeated) in SCHEMA[msg._type].items():
        value = getattr(msg, name)
        if kind == "map":
            kkind, vkind = SCHEMA[sub][1][1], SCHEMA[sub][2][1]
            for k, v in value.items():
                body = _scalar(1, kkind, k) + (_message(2, v) if vkind == "message" else _scalar(2, vkind, v))
                out += _varint(number << 3 | LEN) + _varint(len(body)) + body
        elif kind == "message":
            for item in value if repeated else ([value] if value is not None else []):
                out += _message(number, item)
        elif repeated and kind not in ("string", "bytes"):
            if value:  # packed, as proto3 writes them
                body = b"".join(_varint(int(v)) for v in value)
                out += _varint(number << 3 | LEN) + _varint(len(body)) + body
        elif repeated:
            for item in value:
                out += _scalar(number, kind, item, always=True)
        else:
            out += _scalar(number, kind, value)
    return bytes(out)


def _message(number: int, msg: Message) -> bytes:
    body = encode(msg)
    return _varint(number << 3 | LEN) + _varint(len(body)) + body


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def _convert(kind: str, raw):
    if kind == "string":
        return bytes(raw).decode()
    if kind == "bytes":
        return bytes(raw)
    if kind == "bool":
        return bool(raw)
    if kind in ("int32", "int64", "enum") and raw >= 1 << 63:
        return raw - (1 << 64)
    return raw


def decode(type_name: str, data: bytes) -> Message:
    fields = SCHEMA[type_name]
    msg = Message(type_name)
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            raw, pos = _read_varint(data, pos)
        elif wire == LEN:
            size, pos = _read_varint(data, pos)
            raw, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):  # fixed64 / fixed32: none in this schema, skipped
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise RpcError("INTERNAL", f"{type_name}: wire type {wire} is not supported")
        spec = fields.get(number)
        if spec is None:
            continue
        name, kind, sub, repeated = spec
        if kind == "map":
            entry = decode(sub, raw)
            getattr(msg, name)[entry.key] = entry.value
        elif kind == "message":
            value = decode(sub, raw)
            getattr(msg, name).append(value) if repeated else object.__setattr__(msg, name, value)
        elif repeated and wire == LEN and kind not in ("string", "bytes"):
            p, items = 0, getattr(msg, name)
            while p < len(raw):
                n, p = _read_varint(raw, p)
                items.append(_convert(kind, n))
        elif repeated:
            getattr(msg, name).append(_convert(kind, raw))
        else:
            object.__setattr__(msg, name, _convert(kind, raw))
    return msg


def __getattr__(name: str):
    """pb.ContainerConfig and friends, as constructors."""
    if _PACKAGE + name in SCHEMA:
        return lambda **values: Message(_PACKAGE + name, **values)
    raise AttributeError(name)


class Stub:
    """The Containers service's unary and server-streaming methods, as the grpc stub has them."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __getattr__(self, method: str):
        if method not in METHODS:
            raise AttributeError(method)
        _, response, client_streaming, server_streaming = METHODS[method]
        if client_streaming:
            raise AttributeError(f"{method} streams requests: not served by the lite client")
        path = f"/{SERVICE}/{method}"

        def call(request: Message):
            replies = (decode(response, data) for data in self.channel.call(path, encode(request)))
            if server_streaming:
                return replies
            got = list(replies)
            if not got:
                raise RpcError("INTERNAL", f"{method}: the daemon sent no reply")
            return got[-1]

        return call
