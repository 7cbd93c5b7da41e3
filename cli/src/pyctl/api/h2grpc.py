"""gRPC calls (unary and server streaming) over HTTP/2 on pyruncd's unix socket, without grpcio.

`import grpc` alone costs pyctl ~70 ms and its channel more at start and exit, which is most
of a `pyctl run --rm` of a short command. The containers API (api/lite.py) uses this client
for every call whose requests do not stream: one HTTP/2 connection (prior knowledge, no TLS), one call at a time on it, messages
encoded by the caller. HPACK: requests are sent as literals (no table, no Huffman); responses
are decoded in full (static and dynamic tables, Huffman), as RFC 7540 and RFC 7541 specify.
"""

import socket
import struct
from collections.abc import Iterator

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_MAX_WINDOW = (1 << 31) - 1
_SETTINGS_INITIAL_WINDOW_SIZE, _SETTINGS_MAX_FRAME_SIZE, _SETTINGS_ENABLE_PUSH = 4, 5, 2

# grpc status numbers (as grpc.StatusCode names them)
STATUS_NAMES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
                "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
                "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]


class StatusCode(str):
    """A status name that also answers `.name`, as grpc.StatusCode members do."""

    @property
    def name(self) -> str:
        return str(self)


class RpcError(Exception):
    """A call's failure, with grpc.RpcError's code() and details()."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self._code, self._details = StatusCode(code), details

    def code(self) -> StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


# ---- HPACK (RFC 7541)

_STATIC = [(n.encode(), v.encode()) for n, v in (
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
    (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
    (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
    ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
    ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
    ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
    ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
    ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
    ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
    ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
    ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""))]

# Appendix B's code length of each symbol (0-255, then EOS); the code is canonical, so the codes follow
_HUFFMAN_LENGTHS = bytes.fromhex(
    "0d171c1c1c1c1c1c1c181e1c1c1e1c1c1c1c1c1c1c1c1e1c1c1c1c1c1c1c1c1c060a0a0c0d06080b0a0a080b0806060605050506"
    "06060606060607080f060c0a0d06070707070707070707070707070707070707070707070807080d130d0e060f05060506050606"
    "060507070606060506070605050607070707070f0b0e0d1c141614141616161716171717171718171818161718171717171516"
    "171617171816151416161717151716161815161717151516151716171714161616171616171a1a1413161716191a1a1a1b1b1a"
    "181913151a1b1b1a1b1815151a1a1c1b1b1b14181415161515171616191918181a171a1b1a1a1b1b1b1b1b1c1b1b1b1b1b1a1e")
_huffman: dict[tuple[int, int], int] = {}


def _huffman_table() -> dict[tuple[int, int], int]:
    if not _huffman:
        code, prev = -1, 0
        for sym in sorted(range(257), key=lambda s: (_HUFFMAN_LENGTHS[s], s)):
            length = _HUFFMAN_LENGTHS[sym]
            code = (code + 1) << (length - prev) if code >= 0 else 0
            prev = length
            _huffman[(length, code)] = sym
    return _huffman


def huffman_decode(data: bytes) -> bytes:
    table = _huffman_table()
    out = bytearray()
    code = length = 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = code << 1 | (byte >> shift) & 1
            length += 1
            sym = table.get((length, code))
            if sym is not None:
                if sym == 256:
                    raise RpcError("INTERNAL", "HPACK: EOS in a Huffman string")
                out.append(sym)
                code = length = 0
    if length > 7 or code != (1 << length) - 1:  # padding: the EOS code's leading ones, under a byte
        raise RpcError("INTERNAL", "HPACK: bad Huffman padding")
    return bytes(out)


def _int(data: bytes, pos: int, bits: int) -> tuple[int, int]:
    mask = (1 << bits) - 1
    n = data[pos] & mask
    pos += 1
    if n < mask:
        return n, pos
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        n += (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, pos


def _encode_int(n: int, bits: int, first: int = 0) -> bytes:
    mask = (1 << bits) - 1
    if n < mask:
        return bytes([first | n])
    out = bytearray([first | mask])
    n -= mask
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_headers(headers: list[tuple[str, str]]) -> bytes:
    """Literals without indexing, new names, no Huffman: nothing for the peer to remember."""
    out = bytearray()
    for name, value in headers:
        n, v = name.encode(), value.encode()
        out += b"\x00" + _encode_int(len(n), 7) + n + _encode_int(len(v), 7) + v
    return bytes(out)


class Decoder:
    def __init__(self) -> None:
        self.table: list[tuple[bytes, bytes]] = []  # the dynamic table, newest first
        self.size = 0
        self.max_size = 4096

    def _get(self, index: int) -> tuple[bytes, bytes]:
        if 0 < index <= len(_STATIC):
            return _STATIC[index - 1]
        if 0 < index - len(_STATIC) <= len(self.table):
            return self.table[index - len(_STATIC) - 1]
        raise RpcError("INTERNAL", f"HPACK: no table entry {index}")

    def _evict(self) -> None:
        while self.size > self.max_size:
            n, v = self.table.pop()
            self.size -= len(n) + len(v) + 32

    def _string(self, data: bytes, pos: int) -> tuple[bytes, int]:
        huffman = data[pos] & 0x80
        size, pos = _int(data, pos, 7)
        raw = data[pos:pos + size]
        return (huffman_decode(raw) if huffman else bytes(raw)), pos + size

    def decode(self, data: bytes) -> list[tuple[str, str]]:
        out = []
        pos = 0
        while pos < len(data):
            b = data[pos]
            if b & 0x80:  # indexed
                index, pos = _int(data, pos, 7)
                out.append(self._get(index))
                continue
            if b & 0xE0 == 0x20:  # dynamic table size update
                self.max_size, pos = _int(data, pos, 5)
                self._evict()
                continue
            indexing = b & 0xC0 == 0x40
            index, pos = _int(data, pos, 6 if indexing else 4)
            if index:
                name = self._get(index)[0]
            else:
                name, pos = self._string(data, pos)
            value, pos = self._string(data, pos)
            if indexing:
                self.table.insert(0, (name, value))
                self.size += len(name) + len(value) + 32
                self._evict()
            out.append((name, value))
        return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in out]


def _percent_decode(text: str) -> str:
    """grpc-message is percent-encoded UTF-8."""
    if "%" not in text:
        return text
    raw = text.encode("latin-1")
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25 and i + 2 < len(raw) and all(c in b"0123456789abcdefABCDEF" for c in raw[i + 1:i + 3]):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


# ---- the connection

class Channel:
    """One HTTP/2 connection to a unix socket; calls run one after the other."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock: socket.socket | None = None
        self._buf = bytearray()
        self._next_stream = 1
        self._decoder = Decoder()
        self._send_window = self._peer_initial_window = 65535
        self._stream_send_window = 0
        self._max_frame = 16384
        self._received = 0  # DATA bytes since we last gave the window back

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as e:
            sock.close()
            raise RpcError("UNAVAILABLE", f"failed to connect to all addresses: {e.strerror}") from None
        settings = struct.pack(">HIHI", _SETTINGS_ENABLE_PUSH, 0, _SETTINGS_INITIAL_WINDOW_SIZE, _MAX_WINDOW)
        sock.sendall(_PREFACE + self._frame(SETTINGS, 0, 0, settings)
                     + self._frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535)))
        return sock

    def _connected(self) -> socket.socket:
        if self.sock is None:
            self.sock = self._connect()
        return self.sock

    @staticmethod
    def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self._connected().recv(65536)
            if not chunk:
                raise RpcError("UNAVAILABLE", "the daemon closed the connection")
            self._buf += chunk
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def _read_frame(self) -> tuple[int, int, int, bytes]:
        head = self._read_exact(9)
        length = int.from_bytes(head[:3], "big")
        kind, flags = head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        return kind, flags, stream, self._read_exact(length)

    def _control(self, kind: int, flags: int, stream: int, payload: bytes) -> bool:
        """Connection-level frames; True when handled."""
        if kind == SETTINGS:
            if not flags & ACK:
                for i in range(0, len(payload), 6):
                    ident, value = struct.unpack(">HI", payload[i:i + 6])
                    if ident == _SETTINGS_INITIAL_WINDOW_SIZE:
                        self._stream_send_window += value - self._peer_initial_window
                        self._peer_initial_window = value
                    elif ident == _SETTINGS_MAX_FRAME_SIZE:
                        self._max_frame = value
                self._connected().sendall(self._frame(SETTINGS, ACK, 0, b""))
            return True
        if kind == PING:
            if not flags & ACK:
                self._connected().sendall(self._frame(PING, ACK, 0, payload))
            return True
        if kind == WINDOW_UPDATE:
            increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if stream == 0:
                self._send_window += increment
            else:
                self._stream_send_window += increment
            return True
        if kind == GOAWAY:
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if last < self._next_stream - 2:
                raise RpcError("UNAVAILABLE", "the daemon is going away")
            return True
        return stream == 0

    def _send_data(self, stream: int, data: bytes) -> None:
        view = memoryview(data)
        while True:
            room = min(self._send_window, self._stream_send_window, self._max_frame)
            if room <= 0 and view:
                kind, flags, sid, payload = self._read_frame()
                if not self._control(kind, flags, sid, payload) and kind == RST_STREAM and sid == stream:
                    raise RpcError("INTERNAL", "the daemon reset the call")
                continue
            chunk, view = view[:room], view[room:]
            self._send_window -= len(chunk)
            self._stream_send_window -= len(chunk)
            self._connected().sendall(self._frame(DATA, 0 if view else END_STREAM, stream, bytes(chunk)))
            if not view:
                return

    def call(self, path: str, request: bytes) -> Iterator[bytes]:
        """Yield each response message of method `path` (/package.Service/Method); raise RpcError
        for a status other than OK."""
        self._connected()
        stream = self._next_stream
        self._next_stream += 2
        self._stream_send_window = self._peer_initial_window
        headers = encode_headers([(":method", "POST"), (":scheme", "http"), (":path", path),
                                  (":authority", "localhost"), ("content-type", "application/grpc"),
                                  ("te", "trailers")])
        self._connected().sendall(self._frame(HEADERS, END_HEADERS, stream, headers))
        self._send_data(stream, b"\x00" + struct.pack(">I", len(request)) + request)
        pending = bytearray()
        block = bytearray()
        block_ends = False
        status = None
        message = ""
        while True:
            kind, flags, sid, payload = self._read_frame()
            if self._control(kind, flags, sid, payload):
                continue
            if sid != stream:
                continue
            if kind in (HEADERS, CONTINUATION):
                if kind == HEADERS:
                    payload = self._strip(flags, payload)
                    block_ends = bool(flags & END_STREAM)
                block += payload
                if not flags & END_HEADERS:
                    continue
                for name, value in self._decoder.decode(bytes(block)):
                    if name == "grpc-status":
                        status = int(value)
                    elif name == "grpc-message":
                        message = _percent_decode(value)
                    elif name == ":status" and value != "200":
                        raise RpcError("UNKNOWN", f"the daemon answered HTTP status {value}")
                block.clear()
                if block_ends:
                    break
            elif kind == DATA:
                pending += self._strip(flags, payload)
                self._give_back(stream, len(payload))
                while len(pending) >= 5 and len(pending) >= 5 + (size := int.from_bytes(pending[1:5], "big")):
                    if pending[0]:
                        raise RpcError("INTERNAL", "the daemon sent a compressed message")
                    yield bytes(pending[5:5 + size])
                    del pending[:5 + size]
                if flags & END_STREAM:
                    break
            elif kind == RST_STREAM:
                raise RpcError("INTERNAL", f"the daemon reset the call (HTTP/2 error {int.from_bytes(payload[:4], 'big')})")
        if status is None:
            raise RpcError("INTERNAL", "the daemon ended the call without a status")
        if status != 0:
            raise RpcError(STATUS_NAMES[status] if status < len(STATUS_NAMES) else "UNKNOWN", message)

    @staticmethod
    def _strip(flags: int, payload: bytes) -> bytes:
        """Padding and (on HEADERS) priority fields off a frame's payload."""
        start, end = 0, len(payload)
        if flags & PADDED:
            start, end = 1, end - payload[0]
        if flags & PRIORITY:
            start += 5
        return payload[start:end]

    def _give_back(self, stream: int, n: int) -> None:
        """Our receive windows start at 2^31-1; refill them once half is used (a long run's output)."""
        self._received += n
        if self._received >= 1 << 30:
            increment = struct.pack(">I", self._received)
            self._connected().sendall(self._frame(WINDOW_UPDATE, 0, 0, increment) + self._frame(WINDOW_UPDATE, 0, stream, increment))
            self._received = 0

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
