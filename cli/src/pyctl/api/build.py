"""The build service over the HTTP/2 client (h2grpc), with pyrunc_proto.wire's messages: a build's context
streams to the daemon while its progress comes back, without grpcio or google.protobuf (~100 ms of a cached
`pyctl build`). Imported when first used."""

from __future__ import annotations

from pyrunc_proto.wire import Message, WireError, decode, encode

from . import lite
from .errors import ApiError
from .h2grpc import RpcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from pyrunc_proto.messages import pyrunc_build_v1_BuildProgress as BuildProgress
    from pyrunc_proto.messages import pyrunc_build_v1_PruneResponse as PruneResponse

    from .connection import Connection
    from .h2grpc import Call
    from .types import BuildOptions

_SERVICE = "pyrunc.build.v1.Build"


class BuildStream:
    """A build's progress, as it comes; cancel() stops the build: the daemon removes what it was making."""

    def __init__(self, call: Call) -> None:
        self._call = call

    def __iter__(self) -> BuildStream:
        return self

    def __next__(self) -> BuildProgress:
        try:
            return decode("pyrunc.build.v1.BuildProgress", next(self._call))
        except RpcError as e:
            raise ApiError(e.code().name, e.details()) from None
        except (WireError, UnicodeDecodeError) as e:
            raise ApiError("INTERNAL", f"Build: {e}") from None

    def cancel(self) -> None:
        self._call.cancel()


class BuildApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def build(self, options: BuildOptions, context: Iterable[bytes]) -> BuildStream:
        """Send the options, then the context tar that `context` yields; the progress as it comes."""

        def requests() -> Iterator[bytes]:
            yield encode("pyrunc.build.v1.BuildRequest", options=options)
            for chunk in context:
                yield encode("pyrunc.build.v1.BuildRequest", context=chunk)

        return BuildStream(self._connection.lite().stream(f"/{_SERVICE}/Build", requests()))

    def prune(self) -> PruneResponse:
        """Forget the build cache; the step images only it kept go."""
        reply: PruneResponse = lite.unary(self._connection.lite(), "Prune", Message("pyrunc.build.v1.PruneRequest"),
                                          service=_SERVICE)
        return reply
