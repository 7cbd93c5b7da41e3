"""The shims' task events, as containerd receives them: a ttrpc Events service (Forward) on a unix
socket each shim is given as TTRPC_ADDRESS.

Two are acted on. /tasks/oom: OOMKilled comes from it, as dockerd's comes from containerd's,
whatever the cgroup version (the shim watches v1's memory.oom_control or v2's memory.events).
/tasks/exit: the processes' exits (exits.py), which the shim sends after a pending TaskOOM, waiting
for our answer to each, so the OOM is recorded first; we answer at once, as a blocked Forward would
block the shim's whole loop.
"""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from pyrunc_proto import wire
from pyrunc_proto.containerd.events import task_pb2
from pyrunc_proto.containerd.services.ttrpc.events.v1 import events_pb2
from pyrunc_ttrpc.frames import FrameError, FrameReader, FrameType, pack

from .shimapi import Exit

log = logging.getLogger("pyruncd")

SERVICE = "containerd.services.events.ttrpc.v1.Events"
OOM_TOPIC = "/tasks/oom"
OOM_TYPES = ("containerd.events.TaskOOM", "types.containerd.io/containerd.events.TaskOOM")
EXIT_TOPIC = "/tasks/exit"
EXIT_TYPES = ("containerd.events.TaskExit", "types.containerd.io/containerd.events.TaskExit")
# (container id, exec id: "" for the init, exit)
OnExit = Callable[[str, str, Exit], None]


def oom_container(payload: bytes) -> str:
    """The container id of a Forward request's TaskOOM, or "" for any other event."""
    env = events_pb2.ForwardRequest.FromString(payload).envelope
    if env.topic != OOM_TOPIC or env.event.type_url not in OOM_TYPES:
        return ""
    return task_pb2.TaskOOM.FromString(env.event.value).container_id


def exited(payload: bytes) -> tuple[str, str, Exit] | None:
    """A Forward request's TaskExit: (container id, exec id, exit), or None for any other event."""
    env = events_pb2.ForwardRequest.FromString(payload).envelope
    if env.topic != EXIT_TOPIC or env.event.type_url not in EXIT_TYPES:
        return None
    e = task_pb2.TaskExit.FromString(env.event.value)
    exit = Exit(status=e.exit_status, exited_at=e.exited_at.seconds + e.exited_at.nanos / 1e9)
    return e.container_id, "" if e.id == e.container_id else e.id, exit


def handle(request: bytes, on_oom: Callable[[str], None], on_exit: OnExit | None = None) -> bytes:
    """One ttrpc request: Forward answers Empty (after on_oom for a TaskOOM, on_exit for a TaskExit),
    anything else UNIMPLEMENTED."""
    req = wire.decode("ttrpc.Request", request)
    if (req.service, req.method) != (SERVICE, "Forward"):
        return wire.encode("ttrpc.Response",
                           status={"code": 12, "message": f"{req.service}/{req.method} is not implemented"})
    try:
        cid = oom_container(req.payload)
        exit = exited(req.payload) if on_exit is not None else None
    except Exception:  # protobuf's DecodeError: one bad event, not the connection
        log.warning("undecodable shim event")
        cid, exit = "", None
    if cid:
        on_oom(cid)
    if exit is not None and on_exit is not None:
        on_exit(*exit)
    return wire.encode("ttrpc.Response", payload=b"")


class EventSink:
    def __init__(self, path: Path, on_oom: Callable[[str], None], on_exit: OnExit | None = None) -> None:
        self.path = path
        self.on_oom = on_oom
        self.on_exit = on_exit
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.unlink(missing_ok=True)  # a previous daemon's; its shims reconnect to ours
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        self.path.chmod(0o600)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        frames = FrameReader()
        try:
            while data := await reader.read(65536):
                for stream_id, ftype, _flags, payload in frames.feed(data):
                    if ftype == FrameType.REQUEST:
                        answer = handle(payload, self.on_oom, self.on_exit)
                        writer.write(pack(stream_id, FrameType.RESPONSE, answer))
                await writer.drain()
        except (FrameError, wire.WireError, UnicodeDecodeError, ConnectionError):
            pass  # a peer that does not speak ttrpc: drop it
        finally:
            writer.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
            self.path.unlink(missing_ok=True)
