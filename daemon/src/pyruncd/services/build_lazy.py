"""pyrunc.build.v1.Build as the daemon registers it at start: the build executor and its service
(services/build.py) are imported at the first call, so an idle daemon does not hold them (issue #17)."""

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, cast

from pyrunc_proto.pyrunc.build.v1 import build_pb2 as pb
from pyrunc_proto.pyrunc.build.v1 import build_pb2_grpc as pb_grpc

from ..images.store import UsingImage
from .errors import Context

if TYPE_CHECKING:
    from ..build.executor import Builder
    from .build import BuildService


class LazyBuildService(pb_grpc.BuildServicer):
    def __init__(self, builder: "Callable[[], Builder]", using_image: UsingImage) -> None:
        """`builder` makes the build executor, at the first call."""
        self._builder = builder
        self._using_image = using_image
        self._service: BuildService | None = None

    def _loaded(self) -> "BuildService":
        if self._service is None:
            from .build import BuildService

            self._service = BuildService(self._builder(), self._using_image)
        return self._service

    async def Prune(self, request: pb.PruneRequest, context: Context) -> pb.PruneResponse:
        return await self._loaded().Prune(request, context)

    async def Build(self, request_iterator: AsyncIterator[pb.BuildRequest],
                    context: Context) -> AsyncIterator[pb.BuildProgress]:
        # aclosing: a call that ends at a yield (the client went) closes the service's generator at once,
        # which cancels the build and waits for its cleanup
        events = cast(AsyncGenerator[pb.BuildProgress, None], self._loaded().Build(request_iterator, context))
        async with aclosing(events) as progress:
            async for event in progress:
                yield event
