"""gRPC calls over HTTP/2 on pyruncd's unix socket, without grpcio: unary, server streaming, and calls
whose requests stream (a build's context), sent under HTTP/2 flow control while the responses are read.

`import grpc` alone costs pyctl ~70 ms and its channel more at start and exit, which is most
of a `pyctl run --rm` of a short command. The containers API (api/lite.py) and the build API
(api/build.py) use this client: one HTTP/2 connection (prior knowledge, no TLS), one call at a time on
it, messages encoded by the caller. HPACK: api/hpack.py.
"""

import socket
import struct
from collections import deque
from collections.abc import Iterable, Iterator

from .hpack import Decoder, HpackError, encode_headers

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_MAX_WINDOW = (1 << 31) - 1
_SETTINGS_INITIAL_WINDOW_SIZE, _SETTINGS_MAX_FRAME_SIZE, _SETTINGS_ENABLE_PUSH = 4, 5, 2
_CANCEL = 0x8  # RST_STREAM's error code

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
    """One HTTP/2 connection to a unix socket, opened on the first call; calls run one after the other."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock: socket.socket | None = None
        self._next_stream = 1
        self._reset()

    def _reset(self) -> None:
        """A new connection's state: nothing of the last one carries over."""
        self._buf = bytearray()
        self._decoder = Decoder()
        self._abandoned_block = bytearray()  # a header block of a call no longer read
        self._send_window = self._peer_initial_window = 65535
        self._max_frame = 16384
        self._received = 0  # DATA bytes since we last gave the window back
        self._call: Call | None = None  # the call whose frames arrive now
        self._torn = False  # a frame was cut off mid-write (Ctrl-C in sendall): nothing more may be written

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as e:
            sock.close()
            raise RpcError("UNAVAILABLE", f"failed to connect to all addresses: {e.strerror}") from None
        settings = struct.pack(">HIHI", _SETTINGS_ENABLE_PUSH, 0, _SETTINGS_INITIAL_WINDOW_SIZE, _MAX_WINDOW)
        sock.sendall(_PREFACE + _frame(SETTINGS, 0, 0, settings)
                     + _frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535)))
        return sock

    def _connected(self) -> socket.socket:
        if self.sock is None:
            self._reset()
            self.sock = self._connect()
        return self.sock

    def _write(self, data: bytes) -> None:
        self._torn = True
        self._connected().sendall(data)
        self._torn = False

    def _fill(self, block: bool) -> bool:
        """Read what the socket has (waiting for something when `block`); False when nothing came."""
        sock = self._connected()
        try:
            chunk = sock.recv(65536) if block else sock.recv(65536, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError as e:
            raise RpcError("UNAVAILABLE", f"the connection to the daemon failed: {e.strerror}") from None
        if not chunk:
            raise RpcError("UNAVAILABLE", "the daemon closed the connection")
        self._buf += chunk
        return True

    def _next_frame(self) -> tuple[int, int, int, bytes] | None:
        """The first whole frame in the buffer, taken off it; None if there is none yet."""
        buf = self._buf
        if len(buf) < 9:
            return None
        length = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + length:
            return None
        kind, flags = buf[3], buf[4]
        stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        payload = bytes(buf[9:9 + length])
        del buf[:9 + length]
        return kind, flags, stream, payload

    def pump(self, block: bool) -> None:
        """Handle the frames that have come (waiting for one at least when `block`): the connection's
        own, and the current call's."""
        while True:
            frame = self._next_frame()
            if frame is None:
                if not self._fill(block):
                    return
                continue
            block = False
            kind, flags, stream, payload = frame
            if self._control(kind, flags, stream, payload):
                continue
            if self._call is not None and stream == self._call.stream:
                self._call.on_frame(kind, flags, payload)
            elif kind in (HEADERS, CONTINUATION):
                self._abandoned_headers(kind, flags, payload)

    def _abandoned_headers(self, kind: int, flags: int, payload: bytes) -> None:
        """Headers of a call its caller stopped reading: decoded all the same, since every block
        updates the connection's HPACK table, which the next call's headers index into."""
        self._abandoned_block += _strip(flags, payload) if kind == HEADERS else payload
        if flags & END_HEADERS:
            try:
                self._decoder.decode(bytes(self._abandoned_block))
            except HpackError as e:
                raise RpcError("INTERNAL", f"HPACK: {e}") from None
            self._abandoned_block.clear()

    def _control(self, kind: int, flags: int, stream: int, payload: bytes) -> bool:
        """Connection-level frames; True when handled."""
        if kind == SETTINGS:
            if not flags & ACK:
                for i in range(0, len(payload), 6):
                    ident, value = struct.unpack(">HI", payload[i:i + 6])
                    if ident == _SETTINGS_INITIAL_WINDOW_SIZE:
                        if self._call is not None:
                            self._call.send_window += value - self._peer_initial_window
                        self._peer_initial_window = value
                    elif ident == _SETTINGS_MAX_FRAME_SIZE:
                        self._max_frame = value
                self._write(_frame(SETTINGS, ACK, 0, b""))
            return True
        if kind == PING:
            if not flags & ACK:
                self._write(_frame(PING, ACK, 0, payload))
            return True
        if kind == WINDOW_UPDATE:
            increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if stream == 0:
                self._send_window += increment
            elif self._call is not None and stream == self._call.stream:
                self._call.send_window += increment
            return True
        if kind == GOAWAY:
            last = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
            if self._call is not None and last < self._call.stream:
                raise RpcError("UNAVAILABLE", "the daemon is going away")
            return True
        return stream == 0

    def _start(self, call: "Call", path: str) -> int:
        self._connected()
        stream = self._next_stream
        self._next_stream += 2
        self._call = call
        call.send_window = self._peer_initial_window
        headers = encode_headers([(":method", "POST"), (":scheme", "http"), (":path", path),
                                  (":authority", "localhost"), ("content-type", "application/grpc"),
                                  ("te", "trailers")])
        self._write(_frame(HEADERS, END_HEADERS, stream, headers))
        return stream

    def _send(self, call: "Call", data: bytes, end: bool) -> bool:
        """`data` as DATA frames, as the windows allow, taking in what the daemon sends meanwhile;
        False if the call ended first (the daemon answered before reading it all)."""
        view = memoryview(data)
        while True:
            room = min(self._send_window, call.send_window, self._max_frame)
            if call.ended:
                return False
            if room <= 0 and view:
                self.pump(block=True)
                continue
            frames: list[bytes | memoryview] = []
            while view and room > 0:
                chunk, view = view[:room], view[room:]
                self._send_window -= len(chunk)
                call.send_window -= len(chunk)
                frames += [_frame_head(DATA, END_STREAM if end and not view else 0, call.stream, len(chunk)), chunk]
                room = min(self._send_window, call.send_window, self._max_frame)
            if not frames:  # nothing left but the end of the stream
                frames = [_frame_head(DATA, END_STREAM, call.stream, 0)]
            self._write(b"".join(frames))
            if not view:
                return True

    def _reset_stream(self, stream: int, code: int) -> None:
        if self.sock is not None and not self._torn:
            self._write(_frame(RST_STREAM, 0, stream, struct.pack(">I", code)))

    def give_back(self, stream: int, n: int) -> None:
        """Our receive windows start at 2^31-1; refill them once half is used (a long run's output)."""
        self._received += n
        if self._received >= 1 << 30:
            increment = struct.pack(">I", self._received)
            self._write(_frame(WINDOW_UPDATE, 0, 0, increment) + _frame(WINDOW_UPDATE, 0, stream, increment))
            self._received = 0

    def call(self, path: str, request: bytes) -> Iterator[bytes]:
        """Yield each response message of method `path` (/package.Service/Method); raise RpcError
        for a status other than OK."""
        return Call(self, path, iter((request,)))

    def stream(self, path: str, requests: Iterable[bytes]) -> "Call":
        """A call whose requests stream: `requests` go as the daemon's window allows, while the responses
        are read; cancel() ends it."""
        return Call(self, path, iter(requests))

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _frame_head(kind: int, flags: int, stream: int, length: int) -> bytes:
    return struct.pack(">I", length)[1:] + bytes([kind, flags]) + struct.pack(">I", stream)


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return _frame_head(kind, flags, stream, len(payload)) + payload


def _strip(flags: int, payload: bytes) -> bytes:
    """Padding and (on HEADERS) priority fields off a frame's payload."""
    start, end = 0, len(payload)
    if flags & PADDED:
        start, end = 1, end - payload[0]
    if flags & PRIORITY:
        start += 5
    return payload[start:end]


class Call:
    """One call on a Channel: an iterator of its response messages (raising RpcError for a status other
    than OK). Its requests are sent on the first next(), taking in responses as they come; cancel() ends it
    from the iterating thread (as a Ctrl-C handler does), with RST_STREAM CANCEL, and closes the connection:
    the daemon stops the call's work, and a frame cut off by the interrupt is never followed by another."""

    def __init__(self, channel: Channel, path: str, requests: Iterator[bytes]) -> None:
        self._channel, self._path, self._requests = channel, path, requests
        self.stream = 0
        self.send_window = 0
        self.ended = False
        self._cancelled = False
        self._messages: deque[bytes] = deque()
        self._pending = bytearray()
        self._block = bytearray()
        self._block_ends = False
        self._status: int | None = None
        self._message = ""
        self._failure: RpcError | None = None

    def __iter__(self) -> "Call":
        return self

    def __next__(self) -> bytes:
        if self._cancelled:
            raise RpcError("CANCELLED", "Locally cancelled by application!")
        if not self.stream:
            try:
                self.stream = self._channel._start(self, self._path)
                self._send_requests()
            except BaseException:  # the requests' own failure, or Ctrl-C: the daemon must not wait on
                self.cancel()
                raise
        while not self._messages and not self.ended:
            self._channel.pump(block=True)
        if self._messages:
            return self._messages.popleft()
        self._channel._call = None
        if self._failure is not None:
            raise self._failure
        if self._status is None:
            raise RpcError("INTERNAL", "the daemon ended the call without a status")
        if self._status != 0:
            status = self._status
            raise RpcError(STATUS_NAMES[status] if status < len(STATUS_NAMES) else "UNKNOWN", self._message)
        raise StopIteration

    def _send_requests(self) -> None:
        """Each request as a gRPC message, the last with END_STREAM (an empty DATA frame for none); one is
        read ahead to know which is last. If the daemon ends the call first, the rest is not sent."""
        channel = self._channel
        request = next(self._requests, None)
        while True:
            following = next(self._requests, None) if request is not None else None
            data = b"" if request is None else b"\x00" + struct.pack(">I", len(request)) + request
            if not channel._send(self, data, end=following is None):
                channel._reset_stream(self.stream, _CANCEL)  # our half stays open otherwise
                return
            if following is None:
                return
            request = following
            channel.pump(block=False)  # an early status, window updates, pings

    def on_frame(self, kind: int, flags: int, payload: bytes) -> None:
        if self.ended:
            return
        if kind in (HEADERS, CONTINUATION):
            if kind == HEADERS:
                payload = _strip(flags, payload)
                self._block_ends = bool(flags & END_STREAM)
            self._block += payload
            if not flags & END_HEADERS:
                return
            try:
                headers = self._channel._decoder.decode(bytes(self._block))
            except HpackError as e:
                raise RpcError("INTERNAL", f"HPACK: {e}") from None
            for name, value in headers:
                if name == "grpc-status":
                    self._status = int(value)
                elif name == "grpc-message":
                    self._message = _percent_decode(value)
                elif name == ":status" and value != "200":
                    self._end(RpcError("UNKNOWN", f"the daemon answered HTTP status {value}"))
            self._block.clear()
            if self._block_ends:
                self.ended = True
        elif kind == DATA:
            pending = self._pending
            pending += _strip(flags, payload)
            self._channel.give_back(self.stream, len(payload))
            while len(pending) >= 5 and len(pending) >= 5 + (size := int.from_bytes(pending[1:5], "big")):
                if pending[0]:
                    self._end(RpcError("INTERNAL", "the daemon sent a compressed message"))
                    return
                self._messages.append(bytes(pending[5:5 + size]))
                del pending[:5 + size]
            if flags & END_STREAM:
                self.ended = True
        elif kind == RST_STREAM:
            code = int.from_bytes(payload[:4], "big")
            self._end(RpcError("INTERNAL", f"the daemon reset the call (HTTP/2 error {code})"))

    def _end(self, failure: RpcError) -> None:
        self._failure, self.ended = failure, True

    def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        channel = self._channel
        try:
            if self.stream and not self.ended:
                channel._reset_stream(self.stream, _CANCEL)
        except OSError:
            pass  # the connection is gone: the daemon cancels the call for that too
        finally:
            channel._call = None
            channel.close()
