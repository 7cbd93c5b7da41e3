"""ttrpc framing: a 10-byte big-endian header (length, stream id, type, flags) then the payload."""

import struct

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    import _socket

HEADER = struct.Struct(">IIBB")
MAX_LENGTH = 4 << 20  # ttrpc refuses larger messages

Frame = tuple[int, int, int, bytes]  # (stream id, type, flags, payload)


class FrameType:
    """The frame types, plain ints: an IntEnum would import enum (~3 ms of the shim's way to its first answer)."""

    REQUEST = 1
    RESPONSE = 2
    DATA = 3


class FrameError(Exception):
    """The peer sent bytes that are not a ttrpc frame we accept."""


def pack(stream_id: int, ftype: int, payload: bytes, flags: int = 0) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise FrameError(f"payload length {len(payload)} exceeds the maximum of {MAX_LENGTH}")
    return HEADER.pack(len(payload), stream_id, ftype, flags) + payload


def unpack_header(header: bytes | bytearray) -> tuple[int, int, int, int]:
    """(length, stream id, type, flags) of a frame's first HEADER.size bytes; a length over the
    maximum is refused before anything waits for that many bytes."""
    length, stream_id, ftype, flags = HEADER.unpack_from(header)
    if length > MAX_LENGTH:
        raise FrameError(f"frame length {length} exceeds the maximum of {MAX_LENGTH}")
    return length, stream_id, ftype, flags


class FrameReader:
    """Splits a byte stream into frames; feed it whatever recv() returned."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Return the complete frames now available."""
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            length, stream_id, ftype, flags = unpack_header(self._buf)
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append((stream_id, ftype, flags, bytes(self._buf[HEADER.size:end])))
            del self._buf[:end]
        return frames


def read_frame(sock: "_socket.socket") -> Frame:
    """Blocking read of one frame from a socket (used by the client)."""
    length, stream_id, ftype, flags = unpack_header(_read_exact(sock, HEADER.size))
    return stream_id, ftype, flags, _read_exact(sock, length)


def _read_exact(sock: "_socket.socket", n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)
