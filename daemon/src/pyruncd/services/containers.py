"""pyrunc.containers.v1.Containers over the containers' local service (containers/local.py): messages to
typed records by field name, records to messages, errors to status codes (errors.rpc); nothing else."""

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from google.protobuf.message import Message
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc as pb_grpc

from ..containers.local import Containers
from ..containers.types import (
    Chunk,
    CreateOptions,
    ExecOptions,
    HostFlags,
    ProcessExit,
    Record,
    ResourceFlags,
)
from ..images.store import ImageStore
from ..volumes.mounts import MountFlags
from .errors import Context, rpc

_T = TypeVar("_T")


def from_message(cls: type[_T], msg: Message, **given: Any) -> _T:
    """`cls` (a dataclass) from the message's fields of the same names (repeated and map fields copied);
    `given` for the fields that are not the message's."""
    names = msg.DESCRIPTOR.fields_by_name
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given:
            values[f.name] = given[f.name]
        elif f.name in names:
            value = getattr(msg, f.name)
            if isinstance(value, (str, bytes, bool, int, float)):
                values[f.name] = value
            else:  # a map field has keys, a repeated one does not
                values[f.name] = dict(value) if hasattr(value, "keys") else list(value)
    return cls(**values)


def create_options(c: pb.ContainerConfig) -> CreateOptions:
    return from_message(CreateOptions, c, mounts=from_message(MountFlags, c), host=from_message(HostFlags, c))


def container_pb(rec: Record, doc: dict[str, Any]) -> pb.Container:
    return pb.Container(id=rec.id, name=rec.name, image=rec.image, image_id=rec.image_id,
                        command=" ".join(rec.config.process.args), created=rec.created, status=doc["State"]["Status"],
                        pid=rec.pid, exit_code=rec.exit_code, started_at=rec.started_at,
                        finished_at=rec.finished_at, labels=rec.config.settings.labels,
                        inspect_json=json.dumps(doc).encode())


def output_pb(item: Chunk | ProcessExit) -> pb.ExecOutput:
    if isinstance(item, Chunk):
        return pb.ExecOutput(stream=item.stream, data=item.data)
    return pb.ExecOutput(exited=True, exit_code=item.code)


class ContainersService(pb_grpc.ContainersServicer):
    def __init__(self, containers: Containers, images: ImageStore) -> None:
        """`images`: where `commit` records its images."""
        self.c = containers
        self.images = images

    @rpc
    async def Create(self, request: pb.CreateRequest, context: Context) -> pb.CreateResponse:
        rec = self.c.create(create_options(request.config))
        return pb.CreateResponse(id=rec.id)

    @rpc
    async def Start(self, request: pb.ContainerRef, context: Context) -> pb.Empty:
        await self.c.start(request.id)
        return pb.Empty()

    @rpc
    async def StartAttached(self, request: pb.ContainerRef, context: Context) -> AsyncIterator[pb.ExecOutput]:
        async for item in self.c.attach(request.id, start=True):
            yield output_pb(item)

    async def _pump(self, inputs: AsyncIterator[pb.AttachInput], cid: str, exec_id: str) -> None:
        """The client's stdin, resizes and end of stdin, to the process."""
        async for msg in inputs:
            if msg.stdin:
                await self.c.write_stdin(cid, msg.stdin, exec_id)
            if msg.width and msg.height:
                await self.c.resize(cid, msg.width, msg.height, exec_id)
            if msg.close_stdin:
                await self.c.close_stdin(cid, exec_id)

    @rpc
    async def Attach(self, request_iterator: AsyncIterator[pb.AttachInput],
                     context: Context) -> AsyncIterator[pb.ExecOutput]:
        inputs = request_iterator.__aiter__()
        try:
            first = await inputs.__anext__()
        except StopAsyncIteration:
            return
        pumps: list[asyncio.Task[None]] = []

        def pump(cid: str, exec_id: str = "") -> None:
            pumps.append(asyncio.ensure_future(self._pump(inputs, cid, exec_id)))

        try:
            if first.HasField("exec"):
                e = first.exec
                o = from_message(ExecOptions, e)
                async for item in self.c.exec(first.id or e.id, o, on_start=pump):
                    yield output_pb(item)
            else:
                async for item in self.c.attach(first.id, start=first.start, after_start=pump):
                    yield output_pb(item)
        finally:
            for t in pumps:
                t.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    @rpc
    async def Stop(self, request: pb.StopRequest, context: Context) -> pb.Empty:
        await self.c.stop(request.id, request.timeout if request.timeout_set else None)
        return pb.Empty()

    @rpc
    async def Kill(self, request: pb.KillRequest, context: Context) -> pb.Empty:
        await self.c.kill(request.id, request.signal)
        return pb.Empty()

    @rpc
    async def Remove(self, request: pb.RemoveRequest, context: Context) -> pb.Empty:
        await self.c.remove(request.id, force=request.force, volumes=request.volumes)
        return pb.Empty()

    @rpc
    async def List(self, request: pb.ListRequest, context: Context) -> pb.ListResponse:
        return pb.ListResponse(containers=[container_pb(r, self.c.inspect(r)) for r in self.c.records(request.all)])

    @rpc
    async def Inspect(self, request: pb.ContainerRef, context: Context) -> pb.Container:
        rec = self.c.get(request.id)
        return container_pb(rec, self.c.inspect(rec))

    @rpc
    async def Wait(self, request: pb.ContainerRef, context: Context) -> pb.WaitResponse:
        return pb.WaitResponse(status_code=await self.c.wait(request.id))

    @rpc
    async def Logs(self, request: pb.LogsRequest, context: Context) -> AsyncIterator[pb.LogEntry]:
        async for e in self.c.logs(request.id, request.follow, request.tail, request.since):
            yield pb.LogEntry(stream=e.stream, data=e.data, time=e.time)

    @rpc
    async def Exec(self, request: pb.ExecRequest, context: Context) -> AsyncIterator[pb.ExecOutput]:
        async for item in self.c.exec(request.id, from_message(ExecOptions, request, tty=False, interactive=False)):
            yield output_pb(item)

    @rpc
    async def Restart(self, request: pb.StopRequest, context: Context) -> pb.Empty:
        await self.c.restart(request.id, request.timeout if request.timeout_set else None)
        return pb.Empty()

    @rpc
    async def Pause(self, request: pb.ContainerRef, context: Context) -> pb.Empty:
        await self.c.pause(request.id)
        return pb.Empty()

    @rpc
    async def Unpause(self, request: pb.ContainerRef, context: Context) -> pb.Empty:
        await self.c.unpause(request.id)
        return pb.Empty()

    @rpc
    async def Rename(self, request: pb.RenameRequest, context: Context) -> pb.Empty:
        self.c.rename(request.id, request.new_name)
        return pb.Empty()

    @rpc
    async def Top(self, request: pb.TopRequest, context: Context) -> pb.TopResponse:
        titles, rows = await self.c.top(request.id, list(request.ps_args))
        return pb.TopResponse(titles=titles, processes=[pb.TopRow(fields=r) for r in rows])

    @rpc
    async def Prune(self, request: pb.PruneRequest, context: Context) -> pb.PruneResponse:
        gone, freed = await self.c.prune()
        return pb.PruneResponse(deleted=gone, space_reclaimed=freed)

    @rpc
    async def Events(self, request: pb.EventsRequest, context: Context) -> AsyncIterator[pb.Event]:
        since, until = (float(t) if t else None for t in (request.since, request.until))
        async for e in self.c.events(since=since, until=until, filters=list(request.filters)):
            yield pb.Event(time=e.time, type=e.type, action=e.action, id=e.id, attributes=e.attributes,
                           time_nano=e.time_nano)

    @rpc
    async def CopyFrom(self, request: pb.CopyFromRequest, context: Context) -> AsyncIterator[pb.Chunk]:
        async for data in self.c.copy_from(request.id, request.path):
            yield pb.Chunk(data=data)

    @rpc
    async def CopyTo(self, request_iterator: AsyncIterator[pb.CopyToChunk], context: Context) -> pb.Empty:
        inputs = request_iterator.__aiter__()
        first = await inputs.__anext__()

        async def chunks() -> AsyncIterator[bytes]:
            if first.data:
                yield first.data
            async for c in inputs:
                yield c.data

        await self.c.copy_to(first.id, first.path, chunks())
        return pb.Empty()

    @rpc
    async def Update(self, request: pb.UpdateRequest, context: Context) -> pb.UpdateResponse:
        await self.c.update(request.id, from_message(ResourceFlags, request), restart=request.restart)
        return pb.UpdateResponse()

    @rpc
    async def Stats(self, request: pb.StatsRequest, context: Context) -> pb.StatsResponse:
        samples = await self.c.stats(list(request.ids))
        return pb.StatsResponse(stats=[pb.ContainerStats(id=rec.id, name=rec.name, **vars(s)) for rec, s in samples])

    @rpc
    async def Commit(self, request: pb.CommitRequest, context: Context) -> pb.CommitResponse:
        # at the call: committing brings the Dockerfile parser (build/), which an idle daemon does not need
        from .. import committing

        make = committing.image_maker(self.images, changes=list(request.changes), author=request.author,
                                      message=request.message, tag=request.reference)
        return pb.CommitResponse(image_id=await self.c.commit(request.id, make, pause=request.pause))

    @rpc
    async def Diff(self, request: pb.ContainerRef, context: Context) -> pb.DiffResponse:
        return pb.DiffResponse(changes=[pb.Change(kind=c.kind, path=c.path) for c in await self.c.diff(request.id)])

    @rpc
    async def Export(self, request: pb.ContainerRef, context: Context) -> AsyncIterator[pb.Chunk]:
        async for data in self.c.export(request.id):
            yield pb.Chunk(data=data)
