"""pyrunc.build.v1's messages in protobuf's wire format without google.protobuf (~40 ms of every
`pyctl build`): BuildOptions and BuildRequest written, BuildProgress and PruneResponse read. The classes
have the generated ones' fields and the calls pyctl makes of them; tests/unit/cli/test_build_messages.py
holds them to build.proto (every field, read back by build_pb2)."""

import struct

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


class WireError(ValueError):
    """Bytes that do not parse as the expected message."""


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int32/int64 are 10-byte two's complement
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(len(data)) + data


def _map(number: int, values: "dict[str, str] | dict[str, bytes]") -> bytes:
    out = b""
    for key, value in values.items():
        out += _field(number, _field(1, key.encode()) + _field(2, value.encode() if isinstance(value, str) else value))
    return out


class BuildOptions:
    """What to build: build_pb2.BuildOptions's fields; dockerfile_content None when not given (the field's
    presence is what the daemon reads)."""

    def __init__(self, *, tags: "list[str] | None" = None, dockerfile: str = "",
                 dockerfile_content: "bytes | None" = None, build_args: "dict[str, str] | None" = None,
                 target: str = "", no_cache: bool = False, pull: bool = False, network: str = "",
                 labels: "dict[str, str] | None" = None, secrets: "dict[str, bytes] | None" = None,
                 platform: str = "") -> None:
        self.tags = list(tags or [])
        self.dockerfile = dockerfile
        self.dockerfile_content = dockerfile_content
        self.build_args = dict(build_args or {})
        self.target = target
        self.no_cache = no_cache
        self.pull = pull
        self.network = network
        self.labels = dict(labels or {})
        self.secrets = dict(secrets or {})
        self.platform = platform

    def SerializeToString(self) -> bytes:
        out = b"".join(_field(1, tag.encode()) for tag in self.tags)
        out += _field(2, self.dockerfile.encode()) if self.dockerfile else b""
        out += _field(3, self.dockerfile_content) if self.dockerfile_content is not None else b""
        out += _map(4, self.build_args)
        out += _field(5, self.target.encode()) if self.target else b""
        out += b"\x30\x01" if self.no_cache else b""
        out += b"\x38\x01" if self.pull else b""
        out += _field(8, self.network.encode()) if self.network else b""
        out += _map(9, self.labels) + _map(10, self.secrets)
        return out + (_field(11, self.platform.encode()) if self.platform else b"")


def options_request(options: BuildOptions) -> bytes:
    """BuildRequest{options}: a Build call's first message."""
    return _field(1, options.SerializeToString())


def context_request(chunk: bytes) -> bytes:
    """BuildRequest{context}: a piece of the context tar."""
    return _field(2, chunk)


def _fields(data: bytes) -> "list[tuple[int, int | bytes]]":
    """(field number, value) in order: varints as int, length-delimited as bytes, fixed64 as 8 bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, pos = _read_varint(data, pos)
            out.append((number, value))
            continue
        if wire_type == _LEN:
            size, pos = _read_varint(data, pos)
        elif wire_type in (_I64, _I32):
            size = 8 if wire_type == _I64 else 4
        else:
            raise WireError(f"wire type {wire_type} is not supported")
        if pos + size > end:
            raise WireError(f"field {number} runs past the end")
        out.append((number, data[pos:pos + size]))
        pos += size
    return out


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


def _signed(n: int) -> int:
    return n - (1 << 64) if n >= 1 << 63 else n


class Failure:
    def __init__(self, *, message: str = "", code: int = 0) -> None:
        self.message, self.code = message, code


_PROGRESS_TEXT = {1: "step", 2: "status", 4: "warning", 5: "image_id", 6: "tagged"}


class BuildProgress:
    """One event of the build; WhichOneof("event") names the field it carries, as the generated class."""

    def __init__(self) -> None:
        self.step = self.status = self.warning = self.image_id = self.tagged = ""
        self.output = b""
        self.failure = Failure()
        self.alive = 0.0
        self._event: str | None = None

    def WhichOneof(self, group: str) -> "str | None":
        if group != "event":
            raise ValueError(f'BuildProgress has no "{group}" oneof')
        return self._event

    @classmethod
    def FromString(cls, data: bytes) -> "BuildProgress":
        progress = cls()
        for number, value in _fields(data):
            name = _PROGRESS_TEXT.get(number)
            if isinstance(value, int):
                continue  # no varint field in BuildProgress
            if name is not None:
                setattr(progress, name, value.decode())
            elif number == 3:
                progress.output = value
                name = "output"
            elif number == 7:
                progress.failure = Failure()
                for sub, item in _fields(value):
                    if sub == 1 and isinstance(item, bytes):
                        progress.failure.message = item.decode()
                    elif sub == 2 and isinstance(item, int):
                        progress.failure.code = _signed(item)
                name = "failure"
            elif number == 8 and len(value) == 8:
                progress.alive = struct.unpack("<d", value)[0]
                name = "alive"
            if name is not None:
                progress._event = name  # a oneof: the last one read is the one set
        return progress


class PruneResponse:
    def __init__(self) -> None:
        self.entries = self.space_reclaimed = 0
        self.deleted: list[str] = []

    @classmethod
    def FromString(cls, data: bytes) -> "PruneResponse":
        reply = cls()
        for number, value in _fields(data):
            if number == 1 and isinstance(value, int):
                reply.entries = _signed(value)
            elif number == 2 and isinstance(value, bytes):
                reply.deleted.append(value.decode())
            elif number == 3 and isinstance(value, int):
                reply.space_reclaimed = _signed(value)
        return reply
