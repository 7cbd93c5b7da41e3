"""A blocking ttrpc client for unary calls (the shim publishes events with it, pyruncd drives shims).

Its sockets are _socket's, as the server's are: socket.py's imports would cost the shim ~6 ms.
"""

import _socket

from .frames import FrameType, pack, read_frame
from .messages import decode_response, encode_request


def unix_path(address: str) -> str:
    """The socket path of "unix:///path", "/path" or an abstract "@name" / "unix://@name" address."""
    path = address.removeprefix("unix://")
    return "\0" + path[1:] if path.startswith("@") else path


def connect(address: str, timeout: float = 5.0) -> _socket.socket:
    """Dial a containerd address (see unix_path)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(unix_path(address))
    except OSError:
        sock.close()
        raise
    sock.settimeout(None)  # calls set their own (Wait may block as long as the process runs)
    return sock


class Client:
    def __init__(self, sock: _socket.socket, timeout: float | None = None) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        self._next_stream = 1  # clients use odd stream ids

    def call(self, service: str, method: str, payload: bytes,
             metadata: dict[str, str] | None = None) -> bytes:
        stream_id = self._next_stream
        self._next_stream += 2
        self.sock.sendall(pack(stream_id, FrameType.REQUEST, encode_request(service, method, payload, metadata)))
        while True:
            sid, ftype, _flags, data = read_frame(self.sock)
            if sid == stream_id and ftype == FrameType.RESPONSE:
                return decode_response(data)

    def close(self) -> None:
        self.sock.close()
