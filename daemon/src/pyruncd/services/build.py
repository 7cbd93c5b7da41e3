"""pyrunc.build.v1.Build over the build executor: proto <-> records, errors -> statuses.

The first request carries the options, the others the context tar. A failure before the first step
(a Dockerfile that does not parse, a context refused) is the call's status, "Error response from
daemon: ..." to the client; once steps have run it is the last progress message, in docker's words and
with the exit code `pyctl build` ends with, as docker's classic builder streams it.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from pyrunc_proto.pyrunc.build.v1 import build_pb2 as pb
from pyrunc_proto.pyrunc.build.v1 import build_pb2_grpc as pb_grpc

from ..build import progress as events
from ..build.errors import StepFailed
from ..build.executor import Builder, build
from ..build.prune import prune_build_cache
from ..errors import InvalidArgument, PyruncdError
from ..images.store import UsingImage
from .errors import Context, rpc


def options_of(message: pb.BuildOptions) -> events.BuildOptions:
    return events.BuildOptions(
        tags=tuple(message.tags), dockerfile=message.dockerfile or "Dockerfile",
        dockerfile_content=message.dockerfile_content if message.HasField("dockerfile_content") else None,
        build_args=dict(message.build_args), target=message.target or None, no_cache=message.no_cache,
        pull=message.pull, network=message.network, labels=dict(message.labels),
        secrets=dict(message.secrets), platform=message.platform)


def progress_of(event: events.Event) -> pb.BuildProgress:
    match event:
        case events.StepStarted(text=text):
            return pb.BuildProgress(step=text)
        case events.StepStatus(text=text):
            return pb.BuildProgress(status=text)
        case events.StepOutput(data=data):
            return pb.BuildProgress(output=data)
        case events.StepAlive(seconds=seconds):
            return pb.BuildProgress(alive=seconds)
        case events.BuildWarning(text=text):
            return pb.BuildProgress(warning=text)
        case events.Built(image_id=image_id):
            return pb.BuildProgress(image_id=image_id)
        case events.Tagged(name=name):
            return pb.BuildProgress(tagged=name)


async def _context_chunks(requests: AsyncIterator[pb.BuildRequest]) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request.context


class BuildService(pb_grpc.BuildServicer):
    def __init__(self, builder: Builder, using_image: UsingImage) -> None:
        """`using_image`: the ids of the containers made from an image (the containers' service)."""
        self.builder = builder
        self._using_image = using_image

    @rpc
    async def Prune(self, request: pb.PruneRequest, context: Context) -> pb.PruneResponse:
        result = prune_build_cache(self.builder.images, self.builder.cache, self._using_image,
                                   self.builder.cache_mounts)
        return pb.PruneResponse(entries=result.entries, deleted=result.deleted,
                                space_reclaimed=result.space_reclaimed)

    @rpc
    async def Build(self, request_iterator: AsyncIterator[pb.BuildRequest],
                    context: Context) -> AsyncIterator[pb.BuildProgress]:
        first = await anext(aiter(request_iterator), None)
        if first is None or not first.HasField("options"):
            raise InvalidArgument("build: the first message must carry the options")
        queue: asyncio.Queue[events.Event | None] = asyncio.Queue()
        task = asyncio.ensure_future(build(self.builder, options_of(first.options),
                                           _context_chunks(request_iterator), queue.put_nowait))
        task.add_done_callback(lambda _: queue.put_nowait(None))
        stepped = False
        try:
            while (event := await queue.get()) is not None:
                stepped = stepped or isinstance(event, events.StepStarted)
                yield progress_of(event)
            try:
                await task
            except PyruncdError as error:
                if not stepped:
                    raise
                code = error.code if isinstance(error, StepFailed) else 1
                yield pb.BuildProgress(failure=pb.Failure(message=str(error), code=code))
        finally:
            if not task.done():  # the client went: the build stops and cleans up before the call ends
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
