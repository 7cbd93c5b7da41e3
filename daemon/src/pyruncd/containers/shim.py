"""One containerd-shim-pyrunc-v2 per running container, driven over the shim's own ttrpc client.

We reuse pyrunc_shim's blocking client (framing and status codes stay in one place) and
encode the Task API with the generated google.protobuf classes. Every call dials its own
connection, so a Wait blocked in one thread never holds up a Kill from another; callers run
these in threads. The daemon learns of exits from Wait, which the shim answers at once for a
process that exited while nobody was asking (restart safety); of OOM kills from events (events.py).
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import any_pb2
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_proto.containerd.types import mount_pb2
from pyrunc_ttrpc.client import Client, connect
from pyrunc_ttrpc.frames import FrameError
from pyrunc_ttrpc.status import TtrpcError

from ..errors import PyruncdError

TASK = "containerd.task.v2.Task"
NAMESPACE = "pyruncd"
PROCESS_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/Process"
RESOURCES_TYPE_URL = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
RUNTIMES = {"pyrunc": "", "runc": "/usr/sbin/runc"}  # "" lets the shim pick pyrunc from its venv


class ShimError(PyruncdError):
    """The shim refused a call or could not be reached."""


class ShimTimeout(ShimError, TimeoutError):
    """The shim did not answer in time (hung, or stopped): one line naming the container and the call."""


class ShimUnreachable(ShimError, ConnectionError):
    """Nothing answers on the shim's socket: it is gone, or going."""


def shim_binary() -> str:
    beside = Path(sys.executable).parent / "containerd-shim-pyrunc-v2"
    return str(beside) if beside.exists() else (shutil.which("containerd-shim-pyrunc-v2") or str(beside))


def _argv(container_id: str, *extra: str) -> list[str]:
    # an empty publish binary: without TTRPC_ADDRESS the shim publishes no events
    return [shim_binary(), "-namespace", NAMESPACE, "-address", "/dev/null", "-publish-binary", "",
            "-id", container_id, *extra]


def _env(events: str = "") -> dict[str, str]:
    """Our environment, with TTRPC_ADDRESS our events socket (events.py) or else none."""
    env = {k: v for k, v in os.environ.items() if k != "TTRPC_ADDRESS"}
    return env | {"TTRPC_ADDRESS": events} if events else env


def start(bundle: Path, container_id: str, events: str = "") -> "Shim":
    r = subprocess.run([*_argv(container_id), "start"], cwd=bundle, env=_env(events), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    if r.returncode != 0 or not r.stdout.startswith(b"unix://"):
        raise ShimError(f"shim start for {container_id[:12]}: {r.stderr.decode(errors='replace').strip()}")
    return Shim(container_id, r.stdout.decode().strip())


def delete_dead(bundle: Path, container_id: str) -> api.DeleteResponse | None:
    """`shim delete`: what containerd runs after losing a shim; kills and deletes the task, unmounts."""
    r = subprocess.run([*_argv(container_id, "-bundle", str(bundle)), "delete"], cwd=bundle, env=_env(),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return api.DeleteResponse.FromString(r.stdout) if r.returncode == 0 else None


def runtime_options(runtime: str, root: Path) -> any_pb2.Any:
    opts = oci_pb2.Options(binary_name=RUNTIMES[runtime], root=str(root))
    return any_pb2.Any(type_url="containerd.runc.v1.Options", value=opts.SerializeToString())


def overlay(lowers: list[Path], upper: Path, work: Path) -> mount_pb2.Mount:
    return mount_pb2.Mount(type="overlay", source="overlay", options=[
        "lowerdir=" + ":".join(str(p) for p in lowers), f"upperdir={upper}", f"workdir={work}"])


@dataclass
class Exit:
    status: int
    exited_at: float  # seconds since the epoch


@dataclass
class Shim:
    id: str
    address: str

    def _call(self, method: str, req, resp_cls, timeout: float | None = 30):
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
        return resp_cls.FromString(data) if resp_cls else None

    def alive(self, timeout: float = 5) -> bool:
        try:
            self._call("Connect", api.ConnectRequest(id=self.id), api.ConnectResponse, timeout=timeout)
            return True
        except (OSError, ShimError):
            return False

    def create(self, req: api.CreateTaskRequest) -> int:
        return self._call("Create", req, api.CreateTaskResponse, timeout=60).pid

    def start(self, exec_id: str = "") -> int:
        return self._call("Start", api.StartRequest(id=self.id, exec_id=exec_id), api.StartResponse).pid

    def wait(self, exec_id: str = "") -> Exit:
        r = self._call("Wait", api.WaitRequest(id=self.id, exec_id=exec_id), api.WaitResponse, timeout=None)
        return Exit(r.exit_status, r.exited_at.seconds + r.exited_at.nanos / 1e9)

    def state(self, exec_id: str = "") -> api.StateResponse:
        return self._call("State", api.StateRequest(id=self.id, exec_id=exec_id), api.StateResponse)

    def kill(self, signal: int, all: bool = False, exec_id: str = "") -> None:
        self._call("Kill", api.KillRequest(id=self.id, exec_id=exec_id, signal=signal, all=all), None)

    def exec(self, exec_id: str, process_json: bytes, stdout: str, stderr: str, stdin: str = "",
             terminal: bool = False) -> None:
        spec = any_pb2.Any(type_url=PROCESS_TYPE_URL, value=process_json)
        self._call("Exec", api.ExecProcessRequest(id=self.id, exec_id=exec_id, terminal=terminal, stdin=stdin,
                                                  stdout=stdout, stderr=stderr, spec=spec), None)

    def resize(self, width: int, height: int, exec_id: str = "") -> None:
        self._call("ResizePty", api.ResizePtyRequest(id=self.id, exec_id=exec_id, width=width, height=height), None)

    def close_io(self, exec_id: str = "") -> None:
        self._call("CloseIO", api.CloseIORequest(id=self.id, exec_id=exec_id, stdin=True), None)

    def delete(self, exec_id: str = "") -> api.DeleteResponse:
        return self._call("Delete", api.DeleteRequest(id=self.id, exec_id=exec_id), api.DeleteResponse, timeout=60)

    def pids(self) -> list[int]:
        return [p.pid for p in self._call("Pids", api.PidsRequest(id=self.id), api.PidsResponse).processes]

    def pause(self) -> None:
        self._call("Pause", api.PauseRequest(id=self.id), None)

    def resume(self) -> None:
        self._call("Resume", api.ResumeRequest(id=self.id), None)

    def update(self, resources_json: bytes) -> None:
        spec = any_pb2.Any(type_url=RESOURCES_TYPE_URL, value=resources_json)
        self._call("Update", api.UpdateTaskRequest(id=self.id, resources=spec), None)

    def stats(self) -> bytes:
        """The task's io.containerd.cgroups.v1.Metrics, serialized."""
        return self._call("Stats", api.StatsRequest(id=self.id), api.StatsResponse).stats.value

    def shutdown(self) -> None:
        try:
            self._call("Shutdown", api.ShutdownRequest(id=self.id, now=True), None, timeout=10)
        except (ConnectionError, OSError):
            pass  # it left as asked before answering
