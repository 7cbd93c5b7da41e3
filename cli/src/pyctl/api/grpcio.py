"""Calls over grpcio, for what the HTTP/2 client does not serve: the services without wire tables
(images, networks, volumes, system) and the calls that stream requests (attach, cp into a
container, load). Imported on first use: `import grpc` alone is ~70 ms."""

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

import grpc
from google.protobuf.message import Message

from .errors import ApiError

Request = TypeVar("Request", bound=Message)
Reply = TypeVar("Reply", bound=Message)

_OPTIONS = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]


def open_channel(socket_path: str) -> grpc.Channel:
    return grpc.insecure_channel("unix:" + socket_path, options=_OPTIONS)


def api_error(e: grpc.RpcError) -> ApiError:
    return ApiError(e.code().name, e.details() or "")


def _serialize(request: Message) -> bytes:
    return request.SerializeToString()


def _parser(reply: type[Reply]) -> Callable[[bytes], Reply]:
    return reply.FromString


def unary(channel: grpc.Channel, path: str, request: Request, reply: type[Reply]) -> Reply:
    call = channel.unary_unary(path, request_serializer=_serialize, response_deserializer=_parser(reply))
    try:
        return call(request)
    except grpc.RpcError as e:
        raise api_error(e) from None


def server_stream(channel: grpc.Channel, path: str, request: Request, reply: type[Reply]) -> Iterator[Reply]:
    call = channel.unary_stream(path, request_serializer=_serialize, response_deserializer=_parser(reply))
    try:
        yield from call(request)
    except grpc.RpcError as e:
        raise api_error(e) from None


def client_stream(channel: grpc.Channel, path: str, requests: Iterable[Request], reply: type[Reply]) -> Reply:
    call = channel.stream_unary(path, request_serializer=_serialize, response_deserializer=_parser(reply))
    try:
        return call(iter(requests))
    except grpc.RpcError as e:
        raise api_error(e) from None


class BidiStream(Generic[Reply]):
    """A call streaming both ways: its replies, and cancel() (ends it with CANCELLED, from any thread)."""

    def __init__(self, channel: grpc.Channel, path: str, requests: Iterator[Request], reply: type[Reply]) -> None:
        call = channel.stream_stream(path, request_serializer=_serialize, response_deserializer=_parser(reply))
        self._call = call(requests)

    def __iter__(self) -> "BidiStream[Reply]":
        return self

    def __next__(self) -> Reply:
        try:
            return next(self._call)
        except grpc.RpcError as e:
            raise api_error(e) from None

    def cancel(self) -> None:
        self._call.cancel()
