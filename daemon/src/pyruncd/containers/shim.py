"""One containerd-shim-pyrunc-v2 per running container, driven over the shim's own ttrpc client: the
real implementation of shimapi's protocols (Shims, ShimTask), given to the containers at wiring.

A shim is forked by the zygote pyruncd keeps (zygote.py), or started by exec (`shim start`) when
that one is gone. We reuse pyrunc_shim's blocking client (framing and status codes stay in one place) and
encode the Task API with the generated google.protobuf classes. Every call dials its own
connection, so a Wait blocked in one thread never holds up a Kill from another; ShimTask runs
them in threads. The daemon learns of exits and OOM kills from the shims' events (events.py, exits.py), and of an exit
while nobody was listening (restart safety) from one State asked at each wait; a task it started
itself has its wait registered before its Start, and needs no State.
"""

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal as signals
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from google.protobuf import any_pb2
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_proto.containerd.types import mount_pb2
from pyrunc_ttrpc.client import Client, connect
from pyrunc_ttrpc.frames import FrameError
from pyrunc_ttrpc.status import TtrpcError

from ..threads import in_thread
from .exits import ExitWatch
from .shimapi import ExecSpec, Exit, ShimError, ShimTimeout, ShimUnreachable, TaskSpec
from .zygote import ACTION as ZYGOTE
from .zygote import Zygote

TASK = "containerd.task.v2.Task"
NAMESPACE = "pyruncd"
PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
RESOURCES_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
log = logging.getLogger("pyruncd.containers")
RUNTIMES = {"pyrunc": "", "runc": "/usr/sbin/runc"}  # "" lets the shim pick pyrunc from its venv
_STOPPED = 3  # containerd.v1.types.Status


def shim_binary() -> str:
    beside = Path(sys.executable).parent / "containerd-shim-pyrunc-v2"
    return str(beside) if beside.exists() else (shutil.which("containerd-shim-pyrunc-v2") or str(beside))


def _flags() -> list[str]:
    # an empty publish binary: without TTRPC_ADDRESS the shim publishes no events
    return [shim_binary(), "-namespace", NAMESPACE, "-address", "/dev/null", "-publish-binary", ""]


def _argv(container_id: str, *extra: str) -> list[str]:
    return [*_flags(), "-id", container_id, *extra]


def _env(events: str = "") -> dict[str, str]:
    """Our environment, with TTRPC_ADDRESS our events socket (events.py) or else none."""
    env = {k: v for k, v in os.environ.items() if k != "TTRPC_ADDRESS"}
    return env | {"TTRPC_ADDRESS": events} if events else env


def _start(bundle: Path, container_id: str, events: str) -> "Shim":
    r = subprocess.run([*_argv(container_id), "start"], cwd=bundle, env=_env(events), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    if r.returncode != 0 or not r.stdout.startswith(b"unix://"):
        raise ShimError(f"shim start for {container_id[:12]}: {r.stderr.decode(errors='replace').strip()}")
    return Shim(container_id, r.stdout.decode().strip())


def _delete_dead(bundle: Path, container_id: str) -> Exit | None:
    """`shim delete`: what containerd runs after losing a shim; kills and deletes the task, unmounts."""
    r = subprocess.run([*_argv(container_id, "-bundle", str(bundle)), "delete"], cwd=bundle, env=_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    if r.returncode != 0:
        return None
    resp = api.DeleteResponse.FromString(r.stdout)
    return Exit(status=resp.exit_status, exited_at=float(resp.exited_at.seconds))


def shim_processes(cids: set[str]) -> dict[str, list[int]]:
    """The pids of shim processes serving one of `cids`: containerd-shim-pyrunc-v2 ... -id ID started
    by exec, or a fork of the zygote (its command line: ... zygote) working in the container's bundle,
    <containers>/ID/bundle."""
    out: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        # the script is argv[0], or [1] or [2] after the interpreter (and its -IS: make's entry points)
        if not any(a.endswith(b"/containerd-shim-pyrunc-v2") for a in argv[:3]):
            continue
        if b"-id" in argv:
            i = argv.index(b"-id")
            cid = argv[i + 1].decode(errors="replace") if i + 1 < len(argv) else ""
        elif ZYGOTE.encode() in argv:
            try:
                cwd = Path(os.readlink(f"/proc/{entry}/cwd"))
            except OSError:
                continue
            cid = cwd.parent.name if cwd.name == "bundle" else ""  # the zygote itself works in /
        else:
            continue
        if cid in cids:
            out.setdefault(cid, []).append(int(entry))
    return out


def _runtime_options(runtime: str, root: Path) -> any_pb2.Any:
    opts = oci_pb2.Options(binary_name=RUNTIMES[runtime], root=str(root))
    return any_pb2.Any(type_url="containerd.runc.v1.Options", value=opts.SerializeToString())


def _overlay(lowers: list[Path], upper: Path, work: Path) -> mount_pb2.Mount:
    return mount_pb2.Mount(type="overlay", source="overlay", options=[
        "lowerdir=" + ":".join(str(p) for p in lowers), f"upperdir={upper}", f"workdir={work}"])


_Resp = TypeVar("_Resp")


@dataclass
class Shim:
    """The blocking client: one ttrpc connection per call."""
    id: str
    address: str

    def _call(self, method: str, req: Any, resp_cls: Callable[[bytes], _Resp] | None,
              timeout: float | None = 30) -> _Resp | None:
        what = f"container {self.id[:12]}: the shim did not answer {method.lower()}"
        try:
            sock = connect(self.address, timeout=min(timeout or 5, 5))
        except TimeoutError:
            raise ShimTimeout(f"{what} within {min(timeout or 5, 5):g} s") from None
        except OSError as e:
            raise ShimUnreachable(f"container {self.id[:12]}: cannot reach its shim for {method.lower()}: "
                                  f"{e.strerror or 'connection failed'}") from None
        c = Client(sock, timeout=timeout)
        try:
            data = c.call(TASK, method, req.SerializeToString())
        except TtrpcError as e:
            raise ShimError(e.message) from e
        except TimeoutError:
            raise ShimTimeout(f"{what} within {timeout:g} s") from None
        except (OSError, FrameError) as e:
            raise ShimUnreachable(f"{what}: it closed the connection") from e
        finally:
            c.close()
        return resp_cls(data) if resp_cls else None

    def _answer(self, method: str, req: Any, resp_cls: Callable[[bytes], _Resp],
                timeout: float | None = 30) -> _Resp:
        resp = self._call(method, req, resp_cls, timeout)
        assert resp is not None  # a response class was given
        return resp

    def alive(self, timeout: float = 5) -> bool:
        try:
            self.pid(timeout)
            return True
        except (OSError, ShimError):
            return False

    def pid(self, timeout: float = 5) -> int:
        """The shim's own process."""
        resp = self._answer("Connect", api.ConnectRequest(id=self.id), api.ConnectResponse.FromString, timeout)
        return int(resp.shim_pid)

    def exit(self, exec_id: str = "") -> Exit | None:
        """The process's exit if it has exited (State, which answers at once, unlike Wait)."""
        r = self._answer("State", api.StateRequest(id=self.id, exec_id=exec_id), api.StateResponse.FromString)
        if r.status != _STOPPED:
            return None
        return Exit(status=r.exit_status, exited_at=r.exited_at.seconds + r.exited_at.nanos / 1e9)

    def create(self, req: api.CreateTaskRequest) -> int:
        return self._answer("Create", req, api.CreateTaskResponse.FromString, timeout=60).pid

    def start(self, exec_id: str = "") -> int:
        return self._answer("Start", api.StartRequest(id=self.id, exec_id=exec_id), api.StartResponse.FromString).pid

    def kill(self, signal: int, all: bool = False, exec_id: str = "") -> None:
        self._call("Kill", api.KillRequest(id=self.id, exec_id=exec_id, signal=signal, all=all), None)

    def exec(self, spec: ExecSpec) -> None:
        process = any_pb2.Any(type_url=PROCESS_TYPE_URL, value=json.dumps(spec.process).encode())
        self._call("Exec", api.ExecProcessRequest(
            id=self.id, exec_id=spec.exec_id, terminal=spec.terminal, stdin=str(spec.stdin or ""),
            stdout=str(spec.stdout), stderr=str(spec.stderr or ""), spec=process), None)

    def resize(self, width: int, height: int, exec_id: str = "") -> None:
        self._call("ResizePty", api.ResizePtyRequest(id=self.id, exec_id=exec_id, width=width, height=height), None)

    def close_io(self, exec_id: str = "") -> None:
        self._call("CloseIO", api.CloseIORequest(id=self.id, exec_id=exec_id, stdin=True), None)

    def delete(self, exec_id: str = "") -> None:
        self._call("Delete", api.DeleteRequest(id=self.id, exec_id=exec_id), api.DeleteResponse.FromString,
                   timeout=60)

    def pids(self) -> list[int]:
        resp = self._answer("Pids", api.PidsRequest(id=self.id), api.PidsResponse.FromString)
        return [p.pid for p in resp.processes]

    def pause(self) -> None:
        self._call("Pause", api.PauseRequest(id=self.id), None)

    def resume(self) -> None:
        self._call("Resume", api.ResumeRequest(id=self.id), None)

    def update(self, resources: dict[str, Any]) -> None:
        spec = any_pb2.Any(type_url=RESOURCES_TYPE_URL, value=json.dumps(resources).encode())
        self._call("Update", api.UpdateTaskRequest(id=self.id, resources=spec), None)

    def stats(self) -> bytes:
        """The task's io.containerd.cgroups.v1.Metrics, serialized."""
        value: bytes = self._answer("Stats", api.StatsRequest(id=self.id), api.StatsResponse.FromString).stats.value
        return value

    def shutdown(self) -> None:
        try:
            self._call("Shutdown", api.ShutdownRequest(id=self.id, now=True), None, timeout=10)
        except (ConnectionError, OSError):
            pass  # it left as asked before answering

    def close(self, bundle: Path) -> None:
        try:
            self.delete()
        except (ShimError, OSError):
            pass
        self.shutdown()
        if os.path.ismount(bundle / "rootfs"):  # a shim that died mid-create
            _delete_dead(bundle, self.id)


class ShimTask:
    """shimapi.ShimClient over the blocking Shim: each call in a worker thread; waits answered by events."""

    def __init__(self, shim: Shim, runtime_root: Path, exits: ExitWatch, pid: int = 0) -> None:
        """`pid`: the shim's, when its start told it (else Connect asks)."""
        self._shim = shim
        self._runtime_root = runtime_root
        self._exits = exits
        self._pid = pid
        self._init_exit: asyncio.Future[Exit] | None = None  # registered before the task's Start

    @property
    def id(self) -> str:
        return self._shim.id

    @property
    def address(self) -> str:
        return self._shim.address

    async def alive(self, timeout: float) -> bool:
        return await in_thread(self._shim.alive, timeout)

    async def create(self, task: TaskSpec) -> int:
        req = api.CreateTaskRequest(
            id=self.id, bundle=str(task.bundle), rootfs=[_overlay(task.lowers, task.upper, task.work)],
            stdin=str(task.stdin or ""), terminal=task.terminal, stdout=str(task.stdout),
            stderr=str(task.stderr or ""), options=_runtime_options(task.runtime, self._runtime_root))
        return await in_thread(self._shim.create, req)

    async def start(self, exec_id: str = "") -> int:
        if exec_id or not self._pid:
            return await in_thread(self._shim.start, exec_id)
        # a task this daemon created: its exit can only come after its Start, as an event, so the
        # wait registered now needs neither Connect nor State (two round trips once it exited)
        self._init_exit = self._exits.expect(self.id, "", self._pid)
        try:
            return await in_thread(self._shim.start, exec_id)
        except BaseException:
            self._init_exit.cancel()
            self._init_exit = None
            raise

    async def wait(self, exec_id: str = "") -> Exit:
        if not exec_id and self._init_exit is not None:
            exited, self._init_exit = self._init_exit, None
            return await exited
        # a shim that is slow to answer (stopped, overloaded) is asked again: only its death fails a wait
        while not self._pid:
            with contextlib.suppress(ShimTimeout):
                self._pid = await in_thread(self._shim.pid)
        exited = self._exits.expect(self.id, exec_id, self._pid)
        try:
            # registered first: an exit from now on comes as an event, one before is seen here
            while True:
                with contextlib.suppress(ShimTimeout):
                    exit = await in_thread(self._shim.exit, exec_id)
                    break
        except BaseException:
            exited.cancel()
            raise
        if exit is not None:
            self._exits.exited(self.id, exec_id, exit)
        return await exited

    async def kill(self, signal: int, all: bool = False, exec_id: str = "") -> None:
        await in_thread(self._shim.kill, signal, all, exec_id)

    async def exec(self, spec: ExecSpec) -> None:
        await in_thread(self._shim.exec, spec)

    async def resize(self, width: int, height: int, exec_id: str = "") -> None:
        await in_thread(self._shim.resize, width, height, exec_id)

    async def close_io(self, exec_id: str = "") -> None:
        await in_thread(self._shim.close_io, exec_id)

    async def delete(self, exec_id: str = "") -> None:
        await in_thread(self._shim.delete, exec_id)

    async def pids(self) -> list[int]:
        return await in_thread(self._shim.pids)

    async def pause(self) -> None:
        await in_thread(self._shim.pause)

    async def resume(self) -> None:
        await in_thread(self._shim.resume)

    async def update(self, resources: dict[str, Any]) -> None:
        await in_thread(self._shim.update, resources)

    async def stats(self) -> bytes:
        return await in_thread(self._shim.stats)

    async def close(self, bundle: Path) -> None:
        await in_thread(self._shim.close, bundle)

    async def shutdown(self) -> None:
        await in_thread(self._shim.shutdown)


class Shims:
    """shimapi.ShimFactory: containerd-shim-pyrunc-v2 processes, each told of our events socket."""

    runtimes = frozenset(RUNTIMES)

    def __init__(self, runtime_root: Path, events: Path) -> None:
        self._runtime_root = runtime_root
        self._events = events
        self._exits = ExitWatch()
        self._zygote: Zygote | None = None
        try:
            self._zygote = Zygote(_flags(), _env())
        except OSError as e:
            log.warning("no shim zygote; shims are started by exec", extra={"error": str(e)})

    def exit_event(self, container_id: str, exec_id: str, exit: Exit) -> None:
        """A /tasks/exit event (events.py)."""
        self._exits.exited(container_id, exec_id, exit)

    def close(self) -> None:
        self._exits.close()
        if self._zygote is not None:
            self._zygote.close()

    async def start(self, bundle: Path, container_id: str) -> ShimTask:
        """Forked by the zygote; by `shim start` when it is gone."""
        zygote = self._zygote
        if zygote is not None:
            address = await zygote.start(bundle, container_id, str(self._events))
            if address is not None:
                return ShimTask(Shim(container_id, address), self._runtime_root, self._exits, _recorded_pid(bundle))
            if self._zygote is zygote:
                log.warning("the shim zygote is gone; shims are started by exec from now on")
                self._zygote = None
                await in_thread(zygote.close)
        shim = await in_thread(_start, bundle, container_id, str(self._events))
        return ShimTask(shim, self._runtime_root, self._exits, _recorded_pid(bundle))

    def connect(self, container_id: str, address: str) -> ShimTask:
        return ShimTask(Shim(container_id, address), self._runtime_root, self._exits)

    async def delete_dead(self, bundle: Path, container_id: str) -> Exit | None:
        return await in_thread(_delete_dead, bundle, container_id)

    async def running(self, container_ids: set[str]) -> dict[str, list[int]]:
        return await in_thread(shim_processes, container_ids)

    async def discard(self, bundle: Path, container_id: str, pids: list[int]) -> None:
        await in_thread(_discard_half_started, bundle, container_id, pids)


def _recorded_pid(bundle: Path) -> int:
    """The shim's pid, as its start wrote it beside ./address (0: unknown, Connect will ask)."""
    try:
        return int((bundle / "shim.pid").read_text())
    except (OSError, ValueError):
        return 0


def _discard_half_started(bundle: Path, container_id: str, pids: list[int]) -> None:
    """A start the daemon died in (a policy restart in a crash loop makes that likely) leaves a shim
    the record never heard of, perhaps holding a created task: shut it down through its socket when it
    answers, else kill it; then delete what it left (task, cgroups, rootfs mount), as after its exit."""

    def address() -> str:
        try:
            return (bundle / "address").read_text().strip()
        except OSError:
            return ""

    shim = Shim(container_id, address())
    if shim.address and shim.alive():
        try:
            shim.kill(9, True)
        except (ShimError, OSError):
            pass  # no task yet
        shim.close(bundle)
    for pid in pids:
        try:
            os.kill(pid, signals.SIGKILL)
        except ProcessLookupError:
            pass  # it left when shut down
    _delete_dead(bundle, container_id)
    stale = Path(address().removeprefix("unix://"))
    if stale.is_socket() and not Shim(container_id, address()).alive():
        stale.unlink(missing_ok=True)
