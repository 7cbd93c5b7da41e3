"""The build service, over grpcio (a call streaming both ways). Imported when first used."""

from collections.abc import Iterable, Iterator

from pyrunc_proto.pyrunc.build.v1 import build_pb2 as pb

from .connection import Connection
from .grpcio import BidiStream, unary

_SERVICE = "/pyrunc.build.v1.Build/"


class BuildApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def build(self, options: pb.BuildOptions, context: Iterable[bytes]) -> BidiStream[pb.BuildProgress]:
        """Send the options, then the context tar that `context` yields; the progress as it comes
        (cancel() stops the build: the daemon cleans up what it was making)."""

        def requests() -> Iterator[pb.BuildRequest]:
            yield pb.BuildRequest(options=options)
            for chunk in context:
                yield pb.BuildRequest(context=chunk)

        return BidiStream(self._connection.grpc(), _SERVICE + "Build", requests(), pb.BuildProgress)

    def prune(self) -> pb.PruneResponse:
        """Forget the build cache; the step images only it kept go."""
        return unary(self._connection.grpc(), _SERVICE + "Prune", pb.PruneRequest(), pb.PruneResponse)
