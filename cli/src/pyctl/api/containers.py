"""The containers service. Calls go over the HTTP/2 client (no grpcio to import: the fast path of
run, create, start, ps, rm, ...), except the two that stream requests, attach and copy_to, which
need grpcio."""

from __future__ import annotations

from . import lite
from .connection import Connection

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

    from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb

    from .grpcio import BidiStream
    from .types import AttachInput, ContainerConfig, ExecConfig, ResourceUpdate

_SERVICE = "/pyrunc.containers.v1.Containers/"


class ContainersApi:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def _call(self, method: str, request: str, /, **fields: object) -> Any:
        """Any: a wire.Message with the attributes of the method's reply class; each caller names that class."""
        return lite.unary(self._connection.lite(), method, lite.message(request, **fields))

    def _stream(self, method: str, request: str, /, **fields: object) -> Iterator[Any]:
        return lite.stream(self._connection.lite(), method, lite.message(request, **fields))

    def create(self, config: ContainerConfig) -> str:
        """The new container's id."""
        reply: pb.CreateResponse = self._call("Create", "CreateRequest",
                                              config=lite.message("ContainerConfig", **config))
        return reply.id

    def start(self, id: str) -> None:
        self._call("Start", "ContainerRef", id=id)

    def start_attached(self, id: str) -> Iterator[pb.ExecOutput]:
        """Start it and stream its output, then its exit code."""
        return self._stream("StartAttached", "ContainerRef", id=id)

    def stop(self, id: str, timeout: int | None) -> None:
        """`timeout`: seconds before SIGKILL; None for the container's own."""
        self._call("Stop", "StopRequest", id=id, timeout=timeout or 0, timeout_set=timeout is not None)

    def restart(self, id: str, timeout: int | None) -> None:
        self._call("Restart", "StopRequest", id=id, timeout=timeout or 0, timeout_set=timeout is not None)

    def kill(self, id: str, signal: str, *, own_connection: bool = False) -> None:
        """`signal`: a name or number, "" for SIGKILL. `own_connection`: for a call from another thread
        while this one's connection is busy (a signal forwarded during a foreground run)."""
        request = lite.message("KillRequest", id=id, signal=signal)
        if not own_connection:
            lite.unary(self._connection.lite(), "Kill", request)
            return
        channel = self._connection.lite_of_its_own()
        try:
            lite.unary(channel, "Kill", request)
        finally:
            channel.close()

    def remove(self, id: str, *, force: bool, volumes: bool) -> None:
        self._call("Remove", "RemoveRequest", id=id, force=force, volumes=volumes)

    def ls(self, *, all: bool) -> list[pb.Container]:
        reply: pb.ListResponse = self._call("List", "ListRequest", all=all)
        return list(reply.containers)

    def inspect(self, id: str) -> pb.Container:
        """Its record; `inspect_json` holds `docker inspect`'s document."""
        reply: pb.Container = self._call("Inspect", "ContainerRef", id=id)
        return reply

    def wait(self, id: str) -> int:
        """Its exit code, once it has exited."""
        reply: pb.WaitResponse = self._call("Wait", "ContainerRef", id=id)
        return reply.status_code

    def logs(self, id: str, *, follow: bool, tail: int, since: str) -> Iterator[pb.LogEntry]:
        """`tail`: lines from the end, -1 for all; `since`: a time or duration, "" for the start."""
        return self._stream("Logs", "LogsRequest", id=id, follow=follow, tail=tail, since=since)

    def exec(self, config: ExecConfig) -> Iterator[pb.ExecOutput]:
        """Run a process in it (no stdin, no tty: see attach) and stream its output, then its exit code."""
        return self._stream("Exec", "ExecRequest", **config)

    def attach(self, inputs: Iterator[AttachInput]) -> BidiStream[pb.ExecOutput]:
        """The process the first input names (the container, started or not; or a new exec), its
        output streamed back while `inputs` feed its stdin and terminal size."""
        from pyrunc_proto.pyrunc.containers.v1 import containers_pb2

        from .grpcio import BidiStream

        requests = (containers_pb2.AttachInput(**i) for i in inputs)
        return BidiStream(self._connection.grpc(), _SERVICE + "Attach", requests, containers_pb2.ExecOutput)

    def pause(self, id: str) -> None:
        self._call("Pause", "ContainerRef", id=id)

    def unpause(self, id: str) -> None:
        self._call("Unpause", "ContainerRef", id=id)

    def rename(self, id: str, new_name: str) -> None:
        self._call("Rename", "RenameRequest", id=id, new_name=new_name)

    def top(self, id: str, ps_args: list[str]) -> pb.TopResponse:
        reply: pb.TopResponse = self._call("Top", "TopRequest", id=id, ps_args=ps_args)
        return reply

    def prune(self) -> pb.PruneResponse:
        """Remove the stopped containers."""
        reply: pb.PruneResponse = self._call("Prune", "PruneRequest")
        return reply

    def events(self, *, since: str = "", until: str = "", filters: list[str] | None = None) -> Iterator[pb.Event]:
        """The daemon's events (containers, networks, volumes, images): the kept ones from `since` (seconds
        since the epoch), then new ones until `until`, through `filters` (KEY=VALUE)."""
        return self._stream("Events", "EventsRequest", since=since, until=until, filters=list(filters or []))

    def copy_from(self, id: str, path: str) -> Iterator[bytes]:
        """A tar of `path` in the container, in chunks."""
        return (chunk.data for chunk in self._stream("CopyFrom", "CopyFromRequest", id=id, path=path))

    def copy_to(self, id: str, path: str, tar: Iterable[bytes]) -> None:
        """Unpack the tar `tar` yields into directory `path` of the container."""
        from pyrunc_proto.pyrunc.containers.v1 import containers_pb2

        from . import grpcio

        def chunks() -> Iterator[containers_pb2.CopyToChunk]:
            yield containers_pb2.CopyToChunk(id=id, path=path)
            for data in tar:
                yield containers_pb2.CopyToChunk(data=data)

        grpcio.client_stream(self._connection.grpc(), _SERVICE + "CopyTo", chunks(), containers_pb2.Empty)

    def update(self, id: str, resources: ResourceUpdate) -> None:
        self._call("Update", "UpdateRequest", id=id, **resources)

    def stats(self, ids: list[str]) -> list[pb.ContainerStats]:
        """One sample of each container's usage (every running one when `ids` is empty)."""
        reply: pb.StatsResponse = self._call("Stats", "StatsRequest", ids=ids)
        return list(reply.stats)

    def commit(self, id: str, *, reference: str, author: str, message: str, changes: list[str], pause: bool) -> str:
        """The new image's id (sha256:...): the container's changes over its image."""
        reply: pb.CommitResponse = self._call("Commit", "CommitRequest", id=id, reference=reference, author=author,
                                              message=message, changes=changes, pause=pause)
        return reply.image_id

    def diff(self, id: str) -> list[pb.Change]:
        """The container's changes to its image's files: kind A, C or D and the path, in docker's order."""
        reply: pb.DiffResponse = self._call("Diff", "ContainerRef", id=id)
        return list(reply.changes)

    def export(self, id: str) -> Iterator[bytes]:
        """A tar of the container's files, in chunks."""
        return (chunk.data for chunk in self._stream("Export", "ContainerRef", id=id))
