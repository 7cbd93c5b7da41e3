"""The containers service over the HTTP/2 client (h2grpc), with pyrunc_proto.wire's messages:
no grpcio and no google.protobuf, which are most of a short `pyctl run`'s time. The build service's
unary call (Prune) goes through here too (api/build.py streams its Build itself).

Replies are wire.Message objects with the attributes of the generated class the method returns;
the ContainersApi's and BuildApi's methods give them that class's type.
"""

from __future__ import annotations

from pyrunc_proto.pyrunc.tables import SERVICES
from pyrunc_proto.wire import Message, WireError, decode

from .errors import ApiError
from .h2grpc import Channel, RpcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

SERVICE = "pyrunc.containers.v1.Containers"
_PACKAGE = SERVICE.rpartition(".")[0] + "."


def message(name: str, /, **fields: object) -> Message:
    """A request of the containers API by its short name: message("ContainerRef", id=...)."""
    return Message(_PACKAGE + name, **fields)


def stream(channel: Channel, method: str, request: Message, *, service: str = SERVICE) -> Iterator[Any]:
    """Each reply of `method` of `service`, decoded; any failure as ApiError. Any: a wire.Message,
    dynamic by nature; the caller types it as the method's reply class."""
    reply_type = SERVICES[service][method][1]
    try:
        for data in channel.call(f"/{service}/{method}", request.SerializeToString()):
            try:
                yield decode(reply_type, data)
            except (WireError, UnicodeDecodeError) as e:
                raise ApiError("INTERNAL", f"{method}: {e}") from e
    except RpcError as e:
        raise ApiError(e.code().name, e.details()) from None


def unary(channel: Channel, method: str, request: Message, *, service: str = SERVICE) -> Any:
    """The one reply of `method` of `service` (Any: as stream's)."""
    got = list(stream(channel, method, request, service=service))
    if not got:
        raise ApiError("INTERNAL", f"{method}: the daemon sent no reply")
    return got[-1]
