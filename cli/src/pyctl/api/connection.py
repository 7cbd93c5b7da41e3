"""pyruncd's socket, and the two transports' connections to it, each opened on first use."""

from __future__ import annotations

from .h2grpc import Channel

TYPE_CHECKING = False
if TYPE_CHECKING:
    import grpc


class Connection:
    """A plain class: importing dataclasses costs ~8 ms of every pyctl."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._lite: Channel | None = None
        self._grpc: grpc.Channel | None = None

    def lite(self) -> Channel:
        """The HTTP/2 client's connection; one call at a time runs on it."""
        if self._lite is None:
            self._lite = Channel(self.socket_path)
        return self._lite

    def lite_of_its_own(self) -> Channel:
        """A new HTTP/2 connection, for a call from another thread; the caller closes it."""
        return Channel(self.socket_path)

    def grpc(self) -> grpc.Channel:
        if self._grpc is None:
            from .grpcio import open_channel

            self._grpc = open_channel(self.socket_path)
        return self._grpc

    def close(self) -> None:
        if self._lite is not None:
            self._lite.close()
        if self._grpc is not None:
            self._grpc.close()
