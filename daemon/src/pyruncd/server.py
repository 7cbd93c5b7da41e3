"""grpc.aio wiring: the services on a unix socket, until SIGTERM or SIGINT."""

import asyncio
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from pyrunc_proto.pyrunc.build.v1 import build_pb2_grpc
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc
from pyrunc_proto.pyrunc.images.v1 import images_pb2_grpc
from pyrunc_proto.pyrunc.networks.v1 import networks_pb2_grpc
from pyrunc_proto.pyrunc.system.v1 import system_pb2_grpc
from pyrunc_proto.pyrunc.volumes.v1 import volumes_pb2_grpc

from . import reference
from .build.leftovers import remove_step_containers, step_containers
from .containers.events import EventSink
from .containers.local import Containers
from .containers.shim import Shims
from .containers.store import Store as ContainerStore
from .daemon import Config, Daemon
from .errors import Conflict
from .images.manifest import Platform
from .images.store import ImageRecord
from .services.build_lazy import LazyBuildService
from .services.containers import ContainersService
from .services.images import ImagesService
from .services.networks import NetworksService
from .services.system import SystemService
from .services.volumes import VolumesService

if TYPE_CHECKING:
    from .build.executor import Builder

log = logging.getLogger("pyruncd")
_MAX_MESSAGE = 16 << 20
# the generated add_*Servicer_to_server functions (grpc's generator writes no annotations)
_Register = Callable[[Any, grpc.aio.Server], None]


def _claim_socket(path: Path) -> None:
    """Remove a stale socket; refuse one a live daemon answers on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink()
        return
    finally:
        probe.close()
    raise Conflict(f"another daemon is listening on {path}")


def containers_of(daemon: Daemon) -> tuple[Containers, Shims, EventSink]:
    """The containers' local service over the real shims, and the socket those shims send events to."""
    root = Path(daemon.config.root)
    events_path = root / "shim-events.sock"
    shims = Shims(root / "runtime", events_path)
    containers = Containers(
        store=ContainerStore(daemon.conn), shims=shims, images=daemon.images, snapshots=daemon.snapshots,
        networks=daemon.networks, volumes=daemon.volumes, root=root / "containers",
        cgroup_parent=daemon.config.cgroup_parent, log_defaults=daemon.config.log_opts, events=daemon.events)
    return containers, shims, EventSink(events_path, containers.oom_event, shims.exit_event)


def builder_of(daemon: Daemon, containers: Containers) -> "Builder":
    """The build executor: RUN steps through the containers, a base image that is missing pulled. Made at the
    first build (LazyBuildService): an idle daemon does not import it."""
    from .build.cache import BuildCache
    from .build.cache_mounts import CacheMounts
    from .build.executor import Builder
    from .images.pull import pull

    async def pull_base(name: str, platform: Platform) -> ImageRecord:
        return await pull(daemon.images, reference.parse(name), platform, None,
                          set(daemon.config.insecure_registries), lambda event: None)

    return Builder(images=daemon.images, runner=containers, cache=BuildCache(daemon.conn),
                   cache_mounts=CacheMounts(Path(daemon.config.root) / "build-cache"), tmp=daemon.tmp,
                   pull=pull_base)


async def _restore(daemon: Daemon, containers: Containers, cut_off_steps: list[str]) -> None:
    try:
        await containers.restore()
        await remove_step_containers(cut_off_steps, lambda cid: containers.remove(cid, force=True, volumes=True))
        await daemon.networks.restore({r.id: r.pid for r in containers.records(False)})
    except Exception:
        log.exception("restoring containers failed")
        raise


async def serve(config: Config) -> None:
    daemon = Daemon(config)
    path = config.socket_path
    containers, shims, events = containers_of(daemon)
    restoring = None
    try:
        await events.start()  # before any shim starts or reconnects: they send to it
        _claim_socket(path)
        # before the API answers, so no load or pull races it; the containers' images are leased first
        containers.hold_leases()
        cut_off_steps = step_containers(containers.records(True))  # before any build of this daemon starts
        daemon.images.collect_garbage()  # what loads and pulls cut off by a crash left
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", _MAX_MESSAGE),
                                          ("grpc.max_send_message_length", _MAX_MESSAGE)])
        services: list[tuple[_Register, object]] = [
            (images_pb2_grpc.add_ImagesServicer_to_server, ImagesService(daemon, containers.using_image)),
            (system_pb2_grpc.add_SystemServicer_to_server, SystemService(daemon, containers)),
            (containers_pb2_grpc.add_ContainersServicer_to_server, ContainersService(containers, daemon.images)),
            (volumes_pb2_grpc.add_VolumesServicer_to_server, VolumesService(daemon.volumes)),
            (networks_pb2_grpc.add_NetworksServicer_to_server, NetworksService(daemon.networks)),
            (build_pb2_grpc.add_BuildServicer_to_server, LazyBuildService(lambda: builder_of(daemon, containers),
                                                                           containers.using_image)),
        ]
        for register, servicer in services:
            register(servicer, server)
        old_umask = os.umask(0o117)  # the socket is born 0660: no window with wider access
        try:
            server.add_insecure_port(f"unix:{path}")
            await server.start()
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o660)
        # answer first, then take the containers back: a flooding or stuck one must not keep the API down
        restoring = asyncio.ensure_future(_restore(daemon, containers, cut_off_steps))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("pyruncd listening", extra={"socket": str(path), "root": str(config.root), "pid": os.getpid()})
        await stop.wait()
        log.info("pyruncd shutting down")
        await server.stop(grace=5)
        path.unlink(missing_ok=True)
    finally:
        if restoring is not None and not restoring.done():
            restoring.cancel()
            await asyncio.gather(restoring, return_exceptions=True)
        await daemon.networks.settle()  # a network left idle by the last exit goes down before we do
        events.close()
        containers.close()  # containers keep running; their shims wait for the next pyruncd
        shims.close()
        daemon.close()
    log.info("pyruncd stopped")
