"""Map library errors to gRPC status codes, for unary and streaming handlers alike."""

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import grpc
import grpc.aio

from .. import errors

log = logging.getLogger("pyruncd.rpc")

# the context every handler gets; the services do not look into its message types
Context = grpc.aio.ServicerContext[Any, Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])

_CODES = [
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.UnsafeLayer, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.DigestMismatch, grpc.StatusCode.DATA_LOSS),
    (errors.Conflict, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.AuthError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.Unreachable, grpc.StatusCode.UNAVAILABLE),
    (errors.RegistryError, grpc.StatusCode.UNKNOWN),
]


def code_of(e: errors.PyruncdError) -> grpc.StatusCode:
    for kind, code in _CODES:
        if isinstance(e, kind):
            return code
    return grpc.StatusCode.UNKNOWN


def rpc(fn: Handler) -> Handler:
    """Turn PyruncdError into the matching status; anything else is logged and INTERNAL."""
    name = fn.__name__

    async def fail(context: Context, e: BaseException) -> None:
        if isinstance(e, errors.PyruncdError):
            log.info("request failed", extra={"rpc": name, "error": str(e)})
            await context.abort(code_of(e), str(e))
        log.exception("request crashed", extra={"rpc": name})
        await context.abort(grpc.StatusCode.INTERNAL, f"{type(e).__name__}: {e}")

    if inspect.isasyncgenfunction(fn):
        @functools.wraps(fn)
        async def stream(self: object, request: object, context: Context) -> AsyncIterator[Any]:
            try:
                async for item in fn(self, request, context):
                    yield item
            except Exception as e:  # noqa: BLE001 - every failure becomes a status
                await fail(context, e)
        return cast(Handler, stream)

    @functools.wraps(fn)
    async def unary(self: object, request: object, context: Context) -> Any:
        try:
            return await fn(self, request, context)
        except Exception as e:  # noqa: BLE001
            await fail(context, e)
    return cast(Handler, unary)
