"""pyrunc.containers.v1 messages and calls without google.protobuf and grpcio (see h2grpc).

Messages are built and read as with the generated module (`pb.ContainerConfig(image=..)`,
`cfg.entrypoint.extend(..)`, `resp.id`): pyrunc_proto.wire's Message, from its generated tables.
"""

from pyrunc_proto.pyrunc.tables import SCHEMA, SERVICES
from pyrunc_proto.wire import Message, WireError, decode

from .h2grpc import Channel, RpcError

SERVICE = "pyrunc.containers.v1.Containers"
METHODS = SERVICES[SERVICE]
_PACKAGE = SERVICE.rpartition(".")[0] + "."


def __getattr__(name: str):
    """pb.ContainerConfig and friends, as constructors."""
    if _PACKAGE + name in SCHEMA:
        return lambda **values: Message(_PACKAGE + name, **values)
    raise AttributeError(name)


class Stub:
    """The Containers service's unary and server-streaming methods, as the grpc stub has them."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __getattr__(self, method: str):
        if method not in METHODS:
            raise AttributeError(method)
        _, response, client_streaming, server_streaming = METHODS[method]
        if client_streaming:
            raise AttributeError(f"{method} streams requests: not served by the lite client")
        path = f"/{SERVICE}/{method}"

        def reply(data: bytes) -> Message:
            try:
                return decode(response, data)
            except (WireError, UnicodeDecodeError) as e:
                raise RpcError("INTERNAL", f"{method}: {e}") from e

        def call(request: Message):
            replies = (reply(data) for data in self.channel.call(path, request.SerializeToString()))
            if server_streaming:
                return replies
            got = list(replies)
            if not got:
                raise RpcError("INTERNAL", f"{method}: the daemon sent no reply")
            return got[-1]

        return call
