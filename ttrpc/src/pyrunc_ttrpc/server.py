"""A single-threaded ttrpc server on epoll.

The shim is one event loop: ttrpc connections, the SIGCHLD wake-up pipe and any other
descriptor the caller adds all go through it. Handlers run one at a time; a handler that
cannot answer yet (Wait) returns DEFERRED and answers later through its Call.

Its imports are the shim's way to its first answer, after the interpreter's start: sockets are
_socket's (socket.py imports enum and selectors, with collections: ~6 ms), typing's names are
the type checker's only.
"""

import _socket
import select

from pyrunc_proto import wire

from .frames import MAX_LENGTH, FrameError, FrameReader, FrameType, pack
from .messages import decode_request, encode_failure, encode_reply
from .status import Code, TtrpcError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Callable

    Handler = Callable[["Call"], "bytes | Deferred"]  # the response payload, or DEFERRED


class Deferred:
    """The type of DEFERRED (a plain class: an Enum costs the shim's start ~0.1 ms)."""


DEFERRED = Deferred()


class _Connection:
    def __init__(self, sock: _socket.socket) -> None:
        self.sock = sock
        self.reader = FrameReader()
        self.closed = False

    def send_response(self, stream_id: int, resp: bytes) -> None:
        if self.closed:
            return
        try:
            self.sock.sendall(pack(stream_id, FrameType.RESPONSE, resp))
        except OSError:
            self.closed = True  # the peer went away; its pending calls die with it


class Call:
    """One request in flight; reply() or fail() exactly once."""

    def __init__(self, conn: _Connection, stream_id: int, service: str, method: str, payload: bytes,
                 metadata: dict[str, str]) -> None:
        self.conn = conn
        self.stream_id = stream_id
        self.service = service
        self.method = method
        self.payload = payload
        self.metadata = metadata

    def reply(self, payload: bytes) -> None:
        resp = encode_reply(payload)
        if len(resp) > MAX_LENGTH:  # pack() would raise in the shim's loop: tell the caller, as containerd/ttrpc does
            self.fail(Code.RESOURCE_EXHAUSTED,
                      f"message length {len(resp)} exceeds maximum message size of {MAX_LENGTH}")
            return
        self.conn.send_response(self.stream_id, resp)

    def fail(self, code: Code, message: str) -> None:
        self.conn.send_response(self.stream_id, encode_failure(code, message))


class Server:
    def __init__(self, listener: _socket.socket, handlers: "dict[tuple[str, str], Handler]") -> None:
        """listener: a listening unix socket, socket.socket's or _socket's."""
        self.listener = listener
        self.handlers = handlers
        self.epoll = select.epoll()
        self.callbacks: dict[int, Callable[[], object]] = {}
        self.add_reader(listener.fileno(), self._accept)

    def add_reader(self, fd: int, callback: "Callable[[], object]") -> None:
        self.callbacks[fd] = callback
        self.epoll.register(fd, select.EPOLLIN)

    def remove_reader(self, fd: int) -> None:
        self.epoll.unregister(fd)
        del self.callbacks[fd]

    def serve(self, done: "Callable[[], bool]" = lambda: False, after: "Callable[[], object]" = lambda: None) -> None:
        """Handle events until done() says so. After every event, after() runs (what the handlers left
        for once their answers are sent: the shim's events), then done() is asked."""
        while True:
            for fd, _ in self.epoll.poll():
                callback = self.callbacks.get(fd)
                if callback is not None:
                    callback()
                after()
                if done():
                    return

    def _accept(self) -> None:
        # what socket.socket.accept() wraps into its class; _socket has no other accept (nor has typeshed this one)
        fd, _ = self.listener._accept()  # type: ignore[attr-defined]
        sock = _socket.socket(fileno=fd)
        sock.setblocking(True)
        conn = _Connection(sock)
        self.add_reader(sock.fileno(), lambda: self._read(conn))

    def _close(self, conn: _Connection) -> None:
        conn.closed = True
        self.remove_reader(conn.sock.fileno())
        conn.sock.close()

    def _read(self, conn: _Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._close(conn)
            return
        try:
            frames = conn.reader.feed(data)
        except FrameError:
            self._close(conn)
            return
        for stream_id, ftype, _flags, payload in frames:
            if ftype == FrameType.REQUEST:
                self._dispatch(conn, stream_id, payload)

    def _dispatch(self, conn: _Connection, stream_id: int, payload: bytes) -> None:
        try:
            req = decode_request(payload)
        except (wire.WireError, UnicodeDecodeError):
            self._close(conn)
            return
        call = Call(conn, stream_id, req.service, req.method, req.payload, req.metadata)
        handler = self.handlers.get((req.service, req.method))
        if handler is None:
            call.fail(Code.UNIMPLEMENTED, f"{req.service}/{req.method} is not implemented")
            return
        try:
            result = handler(call)
        except TtrpcError as e:
            call.fail(e.code, e.message)
            return
        except Exception as e:  # a bug must not kill the shim that owns the container
            call.fail(Code.UNKNOWN, f"{type(e).__name__}: {e}")
            return
        if not isinstance(result, Deferred):
            call.reply(result)
