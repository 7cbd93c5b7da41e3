"""The build service over the HTTP/2 client (h2grpc), its messages in api/build_messages.py: a build's
context streams to the daemon while its progress comes back, without grpcio or google.protobuf (~100 ms of
a cached `pyctl build`). Imported when first used."""

from __future__ import annotations

from . import build_messages as messages
from .errors import ApiError
from .h2grpc import RpcError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from .connection import Connection
    from .h2grpc import Call

_SERVICE = "/pyrunc.build.v1.Build/"


class BuildStream:
    """A build's progress, as it comes; cancel() stops the build: the daemon removes what it was making."""

    def __init__(self, call: Call) -> None:
        self._call = call

    def __iter__(self) -> BuildStream:
        return self

    def __next__(self) -> messages.BuildProgress:
        try:
            data = next(self._call)
            return messages.BuildProgress.FromString(data)
        except RpcError as e:
            raise ApiError(e.code().name, e.details()) from None
        except messages.WireError as e:
            raise ApiError("INTERNAL", f"Build: {e}") from None

    def cancel(self) -> None:
        self._call.cancel()


class BuildApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def build(self, options: messages.BuildOptions, context: Iterable[bytes]) -> BuildStream:
        """Send the options, then the context tar that `context` yields; the progress as it comes."""

        def requests() -> Iterator[bytes]:
            yield messages.options_request(options)
            for chunk in context:
                yield messages.context_request(chunk)

        return BuildStream(self._connection.lite().stream(_SERVICE + "Build", requests()))

    def prune(self) -> messages.PruneResponse:
        """Forget the build cache; the step images only it kept go."""
        try:
            replies = list(self._connection.lite().call(_SERVICE + "Prune", b""))
            if not replies:
                raise ApiError("INTERNAL", "Prune: the daemon sent no reply")
            return messages.PruneResponse.FromString(replies[-1])
        except RpcError as e:
            raise ApiError(e.code().name, e.details()) from None
        except messages.WireError as e:
            raise ApiError("INTERNAL", f"Prune: {e}") from None
