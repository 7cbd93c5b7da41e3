"""pyrunc.system.v1.System: what `pyctl info`, `pyctl version` and `pyctl system df` show."""

import os
import platform
import socket
from pathlib import Path

from pyrunc_proto.pyrunc.system.v1 import system_pb2 as pb
from pyrunc_proto.pyrunc.system.v1 import system_pb2_grpc as pb_grpc

from .. import reference
from ..containers.local import Containers
from ..containers.types import Record, Status
from ..daemon import Daemon
from ..fsutil import du
from ..images.manifest import host_platform
from ..threads import in_thread
from .errors import Context, rpc

API_VERSION = "v1"


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def _mem_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _cgroup_version() -> str:
    """2 on a pure cgroup2 mount, 1 otherwise (v1 and hybrid), as docker reports."""
    return "2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "1"


def _version() -> str:
    # at the call: importlib.metadata (and the email package it parses metadata with) is ~1.6 MB that an
    # idle daemon would hold for nothing (issue #17)
    import importlib.metadata

    return importlib.metadata.version("pyruncd")


def _container_usage(rec: Record, size: int) -> pb.ContainerUsage:
    return pb.ContainerUsage(
        id=rec.id, image=rec.image, command=" ".join(rec.config.process.args), size=size, created=rec.created,
        local_volumes=sum(1 for m in rec.config.mounts if m.type == "volume"), status=str(rec.status),
        name=rec.name, started_at=rec.started_at, finished_at=rec.finished_at, exit_code=rec.exit_code)


class SystemService(pb_grpc.SystemServicer):
    def __init__(self, daemon: Daemon, containers: Containers) -> None:
        self.d = daemon
        self.containers = containers

    @rpc
    async def Info(self, request: pb.InfoRequest, context: Context) -> pb.InfoResponse:
        by_status = self.containers.counts()
        return pb.InfoResponse(
            images=self.d.images.count(), containers=sum(by_status.values()),
            containers_running=by_status.get(Status.RUNNING, 0), containers_paused=by_status.get(Status.PAUSED, 0),
            containers_stopped=by_status.get(Status.EXITED, 0) + by_status.get(Status.CREATED, 0),
            server_version=_version(), storage_driver="overlayfs",
            root_dir=str(self.d.config.root), default_runtime="pyrunc", runtimes=["pyrunc", "runc"],
            kernel_version=platform.release(), operating_system=_os_name(), os_type="linux",
            architecture=platform.machine(), ncpu=os.cpu_count() or 0, mem_total=_mem_total(),
            name=socket.gethostname(), cgroup_version=_cgroup_version(),
            insecure_registries=sorted(set(self.d.config.insecure_registries)) + ["127.0.0.0/8"],
            default_network="bridge")

    @rpc
    async def Version(self, request: pb.VersionRequest, context: Context) -> pb.VersionResponse:
        return pb.VersionResponse(
            version=_version(), api_version=API_VERSION, python_version=platform.python_version(),
            os="linux", arch=host_platform().architecture, kernel_version=platform.release())

    @rpc
    async def DiskUsage(self, request: pb.DiskUsageRequest, context: Context) -> pb.DiskUsageResponse:
        # at the call, as the version's importlib.metadata: only `system df` reads them
        from ..build.cache import BuildCache
        from ..images.usage import CachedStep, images_usage

        cache = [CachedStep(key=e.key, image_id=e.image_id, created=e.created) for e in BuildCache(self.d.conn).entries()]
        usage = images_usage(self.d.images, self.containers.using_image, cache)
        records = self.containers.records(all=True)
        root = self.d.config.root / "containers"
        sizes = [await in_thread(du, root / rec.id / "upper") for rec in records]
        volumes = self.d.volumes.find()
        volume_sizes = [await in_thread(du, v.mountpoint) for v in volumes]
        return pb.DiskUsageResponse(
            layers_size=usage.layers_size,
            images=[pb.ImageUsage(id=u.image.id, repo_tags=[reference.familiar(t) for t in u.image.tags],
                                  created=u.image.created, size=u.image.size, shared_size=u.shared_size,
                                  containers=u.containers) for u in usage.images],
            containers=[_container_usage(rec, size) for rec, size in zip(records, sizes, strict=True)],
            volumes=[pb.VolumeUsage(name=v.name, links=len(v.users), size=size)
                     for v, size in zip(volumes, volume_sizes, strict=True)],
            build_cache=[pb.BuildCacheUsage(id=s.step.key, image_id=s.step.image_id, size=s.size,
                                            created=s.step.created, shared=s.shared, description=s.description)
                         for s in usage.build_cache])
