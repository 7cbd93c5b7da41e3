"""ttrpc framing: a 10-byte big-endian header (length, stream id, type, flags) then the payload."""

import enum
import struct

HEADER = struct.Struct(">IIBB")
MAX_LENGTH = 4 << 20  # ttrpc refuses larger messages


class FrameType(enum.IntEnum):
    REQUEST = 1
    RESPONSE = 2
    DATA = 3


class FrameError(Exception):
    """The peer sent bytes that are not a ttrpc frame we accept."""


def pack(stream_id: int, ftype: FrameType, payload: bytes, flags: int = 0) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise FrameError(f"payload length {len(payload)} exceeds the maximum of {MAX_LENGTH}")
    return HEADER.pack(len(payload), stream_id, ftype, flags) + payload


class FrameReader:
    """Splits a byte stream into frames; feed it whatever recv() returned."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        """Return the complete frames now available as (stream_id, type, flags, payload)."""
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            length, stream_id, ftype, flags = HEADER.unpack_from(self._buf)
            if length > MAX_LENGTH:
                raise FrameError(f"frame length {length} exceeds the maximum of {MAX_LENGTH}")
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append((stream_id, ftype, flags, bytes(self._buf[HEADER.size:end])))
            del self._buf[:end]
        return frames


def read_frame(sock) -> tuple[int, int, int, bytes]:
    """Blocking read of one frame from a socket (used by the client)."""
    header = _read_exact(sock, HEADER.size)
    length, stream_id, ftype, flags = HEADER.unpack(header)
    if length > MAX_LENGTH:
        raise FrameError(f"frame length {length} exceeds the maximum of {MAX_LENGTH}")
    return stream_id, ftype, flags, _read_exact(sock, length)


def _read_exact(sock, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)
