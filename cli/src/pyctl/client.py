"""The connection to pyruncd: -H/--host, else PYRUNCD_HOST, else the default socket."""

import os
from dataclasses import dataclass

import grpc

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


@dataclass
class Client:
    host: str
    channel: grpc.Channel

    @classmethod
    def connect(cls, host: str) -> "Client":
        opts = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
        return cls(host, grpc.insecure_channel("unix:" + host.removeprefix("unix://"), options=opts))

    @property
    def images(self):
        from pyrunc_proto.pyrunc.images.v1 import images_pb2_grpc

        return images_pb2_grpc.ImagesStub(self.channel)

    @property
    def system(self):
        from pyrunc_proto.pyrunc.system.v1 import system_pb2_grpc

        return system_pb2_grpc.SystemStub(self.channel)

    def close(self) -> None:
        self.channel.close()


def rpc_error(e: grpc.RpcError, host: str) -> CLIError:
    """Docker's wording: daemon errors as "Error response from daemon: ...", a dead socket as such."""
    code, details = e.code(), e.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE and ("failed to connect" in details or "connect failed" in details):
        return CLIError(f"Cannot connect to the pyruncd daemon at {host}. Is the pyruncd daemon running?")
    return CLIError(f"Error response from daemon: {details}")
