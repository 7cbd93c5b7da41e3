"""The connection to pyruncd: -H/--host, else PYRUNCD_HOST, else the default socket."""

import os
import sys

DEFAULT_HOST = "unix:///run/pyruncd/pyruncd.sock"


class CLIError(Exception):
    """Shown to the user as is; exit status 1 (or `status`)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def resolve_host(flag: str | None) -> str:
    host = flag or os.environ.get("PYRUNCD_HOST") or DEFAULT_HOST
    if not host.startswith("unix://") or host == "unix://":
        raise CLIError(f"invalid host {host!r}: want unix:///path/to/pyruncd.sock")
    return host


class Client:
    """grpcio's channel, opened on first use; `lite` commands (run without -i/-t) call through
    pyctl.lite instead and never import grpc (~70 ms of a short `run`). A plain class: importing
    dataclasses costs ~8 ms of every pyctl."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.lite = False
        self._channel = None
        self._lite_channel = None

    @classmethod
    def connect(cls, host: str) -> "Client":
        return cls(host)

    @property
    def channel(self):
        if self._channel is None:
            import grpc

            opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
            self._channel = grpc.insecure_channel("unix:" + self.host.removeprefix("unix://"), options=opts)
        return self._channel

    def lite_channel(self, own: bool = False):
        """The lite client's connection; `own`: a new one (calls from another thread)."""
        from .h2grpc import Channel

        if own:
            return Channel(self.host.removeprefix("unix://"))
        if self._lite_channel is None:
            self._lite_channel = Channel(self.host.removeprefix("unix://"))
        return self._lite_channel

    def containers(self, own: bool = False):
        """The containers service's stub, lite or grpcio as the command chose; `own`: on a new connection."""
        if self.lite:
            from .lite import Stub

            return Stub(self.lite_channel(own=own))
        from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc

        return containers_pb2_grpc.ContainersStub(self.channel)

    @property
    def images(self):
        from pyrunc_proto.pyrunc.images.v1 import images_pb2_grpc

        return images_pb2_grpc.ImagesStub(self.channel)

    @property
    def system(self):
        from pyrunc_proto.pyrunc.system.v1 import system_pb2_grpc

        return system_pb2_grpc.SystemStub(self.channel)

    def close(self) -> None:
        for ch in (self._channel, self._lite_channel):
            if ch is not None:
                ch.close()


def rpc_errors() -> tuple:
    """The exception types of a failed call: the lite client's, and grpc's once it is loaded."""
    from .h2grpc import RpcError

    grpc = sys.modules.get("grpc")
    return (RpcError, grpc.RpcError) if grpc is not None else (RpcError,)


def rpc_error(e, host: str) -> CLIError:
    """Docker's wording: daemon errors as "Error response from daemon: ...", a dead socket as such."""
    code, details = e.code(), e.details() or ""
    if code.name == "UNAVAILABLE" and ("failed to connect" in details or "connect failed" in details):
        return CLIError(f"Cannot connect to the pyruncd daemon at {host}. Is the pyruncd daemon running?")
    return CLIError(f"Error response from daemon: {details}")
