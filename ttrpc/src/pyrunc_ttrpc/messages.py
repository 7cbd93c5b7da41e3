"""ttrpc's own messages, Request and Response (proto/containerd/ttrpc/request.proto), through
pyrunc_proto.wire, so no process here imports google.protobuf. The server and both clients go
through these functions, which give the untyped wire.Message fields their types."""

from pyrunc_proto import wire

from .status import Code, TtrpcError


class Request:
    __slots__ = ("service", "method", "payload", "metadata")

    def __init__(self, *, service: str, method: str, payload: bytes, metadata: dict[str, str]) -> None:
        self.service = service
        self.method = method
        self.payload = payload
        self.metadata = metadata


def encode_request(service: str, method: str, payload: bytes, metadata: dict[str, str] | None) -> bytes:
    return wire.encode("ttrpc.Request", service=service, method=method, payload=payload,
                       metadata=[{"key": k, "value": v} for k, v in (metadata or {}).items()])


def decode_request(data: bytes) -> Request:
    """Raises wire.WireError (or UnicodeDecodeError) for bytes that are no Request."""
    fields = vars(wire.decode("ttrpc.Request", data))
    return Request(service=fields["service"], method=fields["method"], payload=fields["payload"],
                   metadata={kv.key: kv.value for kv in fields["metadata"]})


def encode_reply(payload: bytes) -> bytes:
    return wire.encode("ttrpc.Response", payload=payload)


def encode_failure(code: Code, message: str) -> bytes:
    return wire.encode("ttrpc.Response", status={"code": int(code), "message": message})


def decode_response(data: bytes) -> bytes:
    """The payload of a Response, or its status as a TtrpcError."""
    fields = vars(wire.decode("ttrpc.Response", data))
    status = fields["status"]
    if status is not None and status.code != Code.OK:
        raise TtrpcError(Code(status.code), status.message)
    payload: bytes = fields["payload"]
    return payload
