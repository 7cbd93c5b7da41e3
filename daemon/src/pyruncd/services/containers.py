"""pyrunc.containers.v1.Containers over containers.manager."""

import asyncio
import json

from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc as pb_grpc

from ..containers.hostconfig import HostFlags
from ..containers.manager import CreateOptions, Manager
from ..containers.status import Status
from ..containers.store import Record
from ..errors import Conflict
from ..volumes.mounts import MountFlags, inspect_mounts
from .errors import rpc


def inspect_doc(rec: Record, net: tuple[dict, dict] = ({}, {})) -> dict:
    """A container as `docker inspect` shows it (the fields we have); `net`: Networks.inspect_parts."""
    p, s = rec.config.process, rec.config.settings
    ic = rec.config.image_config.get("config") or {}
    return {
        "Id": rec.id,
        "Created": rec.created,
        "Path": p.args[0],
        "Args": p.args[1:],
        "State": {
            "Status": str(rec.status), "Running": rec.status in (Status.RUNNING, Status.PAUSED),
            "Paused": rec.status == Status.PAUSED, "Restarting": False, "OOMKilled": False,
            "Dead": False, "Pid": rec.pid, "ExitCode": rec.exit_code, "Error": rec.error,
            "StartedAt": rec.started_at or "0001-01-01T00:00:00Z",
            "FinishedAt": rec.finished_at or "0001-01-01T00:00:00Z",
        },
        "Image": rec.image_id,
        "Name": "/" + rec.name,
        "RestartCount": 0,
        "Driver": "overlayfs",
        "Mounts": inspect_mounts(rec.config.mounts),
        "HostConfig": {"NetworkMode": s.network, "AutoRemove": rec.config.auto_remove, "Runtime": s.runtime,
                       **net[1]},
        "Config": {
            "Hostname": s.hostname, "User": p.user, "Tty": p.tty, "OpenStdin": rec.config.open_stdin,
            "Env": p.env, "Cmd": p.args, "Image": rec.image, "WorkingDir": p.cwd,
            "Entrypoint": ic.get("Entrypoint"), "Labels": s.labels, "StopSignal": p.stop_signal,
            "ExposedPorts": ic.get("ExposedPorts"),
        },
        "NetworkSettings": net[0],
    }


def container_pb(rec: Record, m: Manager, net: tuple[dict, dict] = ({}, {})) -> pb.Container:
    doc = inspect_doc(rec, net)
    m.policies.decorate(doc, rec)
    return pb.Container(id=rec.id, name=rec.name, image=rec.image, image_id=rec.image_id,
                        command=" ".join(rec.config.process.args), created=rec.created, status=doc["State"]["Status"],
                        pid=rec.pid, exit_code=rec.exit_code, started_at=rec.started_at,
                        finished_at=rec.finished_at, labels=rec.config.settings.labels,
                        inspect_json=json.dumps(doc).encode())


class ContainersService(pb_grpc.ContainersServicer):
    def __init__(self, manager: Manager):
        self.m = manager

    @rpc
    async def Create(self, request, context):
        c = request.config
        rec = self.m.create(CreateOptions(
            image=c.image, name=c.name, cmd=list(c.cmd), entrypoint=list(c.entrypoint),
            entrypoint_set=c.entrypoint_set, env=list(c.env), workdir=c.workdir, user=c.user, hostname=c.hostname,
            labels=dict(c.labels), tty=c.tty, open_stdin=c.open_stdin, network=c.network, runtime=c.runtime,
            auto_remove=c.auto_remove, mounts=MountFlags(list(c.volumes), list(c.mounts), list(c.tmpfs),
                                                         list(c.volumes_from)),
            network_aliases=list(c.network_aliases), ip=c.ip, dns=list(c.dns), dns_search=list(c.dns_search),
            add_hosts=list(c.add_hosts), publish=list(c.publish), publish_all=c.publish_all, host=HostFlags(
                c.memory, c.memory_swap, c.cpus, c.cpu_shares, c.cpuset_cpus, c.pids_limit, list(c.ulimits),
                list(c.cap_add), list(c.cap_drop), c.privileged, c.read_only, list(c.security_opt), list(c.devices),
                c.restart, c.health_cmd, c.health_interval, c.health_timeout, c.health_retries,
                c.health_start_period, c.no_healthcheck, list(c.log_opts))))
        return pb.CreateResponse(id=rec.id)

    @rpc
    async def Start(self, request, context):
        await self.m.start(request.id)
        return pb.Empty()

    async def _attached(self, cid: str, start: bool, after_start=None):
        """The container's output as it comes, until it exits; started here when `start`."""
        q = self.m.attach_queue(cid)
        exited = self.m.exit_future(cid)
        try:
            if start:
                await self.m.start(cid)
            elif self.m.get(cid).status not in (Status.RUNNING, Status.PAUSED):
                raise Conflict("You cannot attach to a stopped container, start it first")
            if after_start is not None:
                after_start()
            while (item := await q.get()) is not None:
                yield pb.ExecOutput(stream=item[0], data=item[1])
            yield pb.ExecOutput(exited=True, exit_code=await exited)
        finally:
            self.m.detach_queue(cid, q)
            exited.cancel()

    @rpc
    async def StartAttached(self, request, context):
        async for out in self._attached(self.m.get(request.id).id, start=True):
            yield out

    async def _pump(self, inputs, cid: str, exec_id: str) -> None:
        """The client's stdin, resizes and end of stdin, to the process."""
        async for msg in inputs:
            if msg.stdin:
                await self.m.write_stdin(cid, msg.stdin, exec_id)
            if msg.width and msg.height:
                await self.m.resize(cid, msg.width, msg.height, exec_id)
            if msg.close_stdin:
                await self.m.close_stdin(cid, exec_id)

    @rpc
    async def Attach(self, request_iterator, context):
        inputs = request_iterator.__aiter__()
        try:
            first = await inputs.__anext__()
        except StopAsyncIteration:
            return
        pumps: list[asyncio.Task] = []

        def pump(cid: str, exec_id: str = "") -> None:
            pumps.append(asyncio.ensure_future(self._pump(inputs, cid, exec_id)))

        try:
            if first.HasField("exec"):
                e = first.exec
                async for stream, data in self.m.exec(first.id or e.id, list(e.cmd), list(e.env), e.workdir, e.user,
                                                      tty=e.tty, interactive=e.interactive, on_start=pump):
                    yield (pb.ExecOutput(stream=stream, data=data) if stream
                           else pb.ExecOutput(exited=True, exit_code=data))
            else:
                cid = self.m.get(first.id).id
                async for out in self._attached(cid, first.start, lambda: pump(cid)):
                    yield out
        finally:
            for t in pumps:
                t.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    @rpc
    async def Stop(self, request, context):
        await self.m.stop(request.id, request.timeout if request.timeout_set else None)
        return pb.Empty()

    @rpc
    async def Kill(self, request, context):
        await self.m.kill(request.id, request.signal)
        return pb.Empty()

    @rpc
    async def Remove(self, request, context):
        await self.m.remove(request.id, force=request.force, volumes=request.volumes)
        return pb.Empty()

    @rpc
    async def List(self, request, context):
        net = self.m.d.networks.inspect_parts
        return pb.ListResponse(containers=[container_pb(r, self.m, net(r)) for r in self.m.records(request.all)])

    @rpc
    async def Inspect(self, request, context):
        rec = self.m.get(request.id)
        return container_pb(rec, self.m, self.m.d.networks.inspect_parts(rec))

    @rpc
    async def Wait(self, request, context):
        return pb.WaitResponse(status_code=await self.m.wait(request.id))

    @rpc
    async def Logs(self, request, context):
        async for e in self.m.logs(request.id, request.follow, request.tail, request.since):
            yield pb.LogEntry(stream=e.stream, data=e.data, time=e.time)

    @rpc
    async def Exec(self, request, context):
        async for stream, data in self.m.exec(request.id, list(request.cmd), list(request.env), request.workdir,
                                              request.user):
            if stream:
                yield pb.ExecOutput(stream=stream, data=data)
            else:
                yield pb.ExecOutput(exited=True, exit_code=data)


    @rpc
    async def Restart(self, request, context):
        await self.m.restart(request.id, request.timeout if request.timeout_set else None)
        return pb.Empty()

    @rpc
    async def Pause(self, request, context):
        await self.m.pause(request.id)
        return pb.Empty()

    @rpc
    async def Unpause(self, request, context):
        await self.m.unpause(request.id)
        return pb.Empty()

    @rpc
    async def Rename(self, request, context):
        self.m.rename(request.id, request.new_name)
        return pb.Empty()

    @rpc
    async def Top(self, request, context):
        titles, rows = await self.m.top(request.id, list(request.ps_args))
        return pb.TopResponse(titles=titles, processes=[pb.TopRow(fields=r) for r in rows])

    @rpc
    async def Prune(self, request, context):
        gone, freed = await self.m.prune()
        return pb.PruneResponse(deleted=gone, space_reclaimed=freed)

    @rpc
    async def Events(self, request, context):
        q = self.m.subscribe()
        try:
            while True:
                e = await q.get()
                yield pb.Event(time=e.time, type="container", action=e.action, id=e.id, attributes=e.attributes)
        finally:
            self.m.unsubscribe(q)

    @rpc
    async def CopyFrom(self, request, context):
        async for data in self.m.copy_from(request.id, request.path):
            yield pb.Chunk(data=data)

    @rpc
    async def CopyTo(self, request_iterator, context):
        inputs = request_iterator.__aiter__()
        first = await inputs.__anext__()

        async def chunks():
            if first.data:
                yield first.data
            async for c in inputs:
                yield c.data

        await self.m.copy_to(first.id, first.path, chunks())
        return pb.Empty()

    @rpc
    async def Update(self, request, context):
        r = request
        await self.m.policies.update(r.id, restart=r.restart, memory=r.memory, memory_swap=r.memory_swap,
                                     cpus=r.cpus, cpu_shares=r.cpu_shares, cpuset_cpus=r.cpuset_cpus,
                                     pids_limit=r.pids_limit)
        return pb.UpdateResponse()

    @rpc
    async def Stats(self, request, context):
        out = []
        for rec, s in await self.m.policies.stats(list(request.ids)):
            out.append(pb.ContainerStats(id=rec.id, name=rec.name, **vars(s)))
        return pb.StatsResponse(stats=out)
