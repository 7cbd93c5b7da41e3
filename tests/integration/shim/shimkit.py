"""Playing containerd's part for a shim v2 binary: start it in a bundle, drive its Task API over
ttrpc, stand in for containerd's events service (TTRPC_ADDRESS) and read output FIFOs.

SHIM= chooses the shim under test, as RUNTIME= does for the runtime contract tests:
    SHIM=/usr/bin/containerd-shim-runc-v2 bash tests/run.sh tests/integration/shim
runs the same contract against containerd's own runc shim (the reference). Where ours deliberately
differs, the test is marked with `differs(reason)`: an xfail under the runc shim, with the reason.
"""

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_proto.containerd.services.ttrpc.events.v1 import events_pb2
from pyrunc_ttrpc.client import Client, connect
from pyrunc_ttrpc.server import Server
from pyrunc_ttrpc.status import TtrpcError

REPO = Path(__file__).resolve().parents[3]
SHIM = os.environ.get("SHIM") or str(REPO / ".venv" / "bin" / "containerd-shim-pyrunc-v2")
RUNC_SHIM = os.path.basename(SHIM).startswith("containerd-shim-runc")
ROOTFS = REPO / "spec-fixtures" / "out" / "bundle" / "rootfs"
RUNC = "/usr/sbin/runc"
TASK = "containerd.task.v2.Task"
CREATED, RUNNING, STOPPED, PAUSED = 1, 2, 3, 4  # containerd.v1.types.Status


def differs(reason: str):
    """Where containerd-shim-runc-v2 behaves otherwise and ours deliberately does not follow."""
    return pytest.mark.xfail(RUNC_SHIM, reason=f"containerd-shim-runc-v2 differs: {reason}", strict=True)


def ours_only(reason: str):
    """A feature of our shim that the runc shim has no counterpart for."""
    return pytest.mark.skipif(RUNC_SHIM, reason=f"ours only: {reason}")


class FakeContainerd:
    """containerd.services.events.ttrpc.v1.Events/Forward, recording the envelopes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.events: list = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen()
        self.server = Server(self.listener, {("containerd.services.events.ttrpc.v1.Events", "Forward"): self._forward})
        self._stop = False
        self._wake_r, self._wake_w = os.pipe()
        self.server.add_reader(self._wake_r, lambda: os.read(self._wake_r, 1))
        self.thread = threading.Thread(target=self.server.serve, kwargs={"done": lambda: self._stop}, daemon=True)
        self.thread.start()

    def _forward(self, call):
        env = events_pb2.ForwardRequest.FromString(call.payload).envelope
        self.events.append((env.namespace, env.topic, env.event.type_url, env.event.value))
        return b""

    def topics(self) -> list[str]:
        return [e[1] for e in self.events]

    def wait_topic(self, topic: str, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while topic not in self.topics() and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self._stop = True
        os.write(self._wake_w, b"x")
        self.thread.join(5)
        self.listener.close()
        os.close(self._wake_r)
        os.close(self._wake_w)


class FifoReader:
    """A client's end of an output FIFO: a thread reads it until EOF, as containerd's cio does."""

    def __init__(self, path: Path) -> None:
        if not path.exists():
            os.mkfifo(path)
        self.path = path
        self.data = b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                self.data += chunk

    def received(self, settle: float = 0.5) -> str:
        """What came so far, after a moment, EOF or not."""
        self.thread.join(settle)
        return self.data.decode()

    def text(self, timeout: float = 10) -> str:
        """Everything, once the shim has closed its end."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"no EOF on {self.path.name}; read so far: {self.data!r}"
        return self.data.decode()


def make_bundle(tmp_path: Path, token: str, args: list[str]) -> Path:
    bundle = tmp_path / token  # as containerd names it: the runc shim's `delete` finds it by the id
    bundle.mkdir()
    subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["root"] = {"path": str(ROOTFS), "readonly": True}
    spec["linux"]["cgroupsPath"] = f"/{token}"
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def _drain_log(path: Path) -> None:
    """The shim's own log FIFO (containerd reads it; the runc shim will not start without it)."""
    os.mkfifo(path)

    def read():
        with open(path, "rb", buffering=0) as f:
            while f.read(65536):
                pass

    threading.Thread(target=read, daemon=True).start()


def shim(bundle: Path, token: str, events_address: str, action: str, *extra: str,
         stdin: bytes = b"", publish_binary: str = "/bin/false") -> subprocess.CompletedProcess:
    if action == "start" and not (bundle / "log").exists():
        _drain_log(bundle / "log")
    env = dict(os.environ, TTRPC_ADDRESS=events_address)
    return subprocess.run([SHIM, "-namespace", token, "-address", "/fake/containerd.sock",
                           "-publish-binary", publish_binary, "-id", token, *extra, action],
                          cwd=bundle, env=env, input=stdin, capture_output=True, timeout=30)


def runc_options() -> any_pb2.Any:
    return any_pb2.Any(type_url="containerd.runc.v1.Options",
                       value=oci_pb2.Options(binary_name=RUNC).SerializeToString())


class Task:
    """A started shim and a ttrpc client to it: task.call("Start", exec_id="e1") -> StartResponse."""

    def __init__(self, bundle: Path, token: str, ctrd: FakeContainerd, timeout: float = 20) -> None:
        r = shim(bundle, token, ctrd.path, "start")
        assert r.returncode == 0, r.stderr
        self.address = r.stdout.decode()
        self.id = token
        self.bundle = bundle
        self.client = Client(connect(self.address), timeout=timeout)
        self.shim_pid = self.call("Connect").shim_pid

    def call(self, method: str, **fields):
        name = {"Create": "CreateTask", "Exec": "ExecProcess", "Update": "UpdateTask",
                "Checkpoint": "CheckpointTask"}.get(method, method)
        req = getattr(api, name + "Request")(id=self.id, **fields)
        data = self.client.call(TASK, method, req.SerializeToString())
        resp = getattr(api, name + "Response", None)
        return resp.FromString(data) if resp else None

    def create(self, **fields):
        return self.call("Create", bundle=str(self.bundle), options=runc_options(), **fields)

    def exec(self, exec_id: str, args: list[str], **fields) -> None:
        process = {"args": args, "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0},
                   "terminal": fields.get("terminal", False)}
        spec = any_pb2.Any(type_url="types.containerd.io/opencontainers/runtime-spec/1/Process",
                           value=json.dumps(process).encode())
        self.call("Exec", exec_id=exec_id, spec=spec, **fields)

    def state(self, exec_id: str = ""):
        return self.call("State", exec_id=exec_id)

    def close(self) -> None:
        """Kill and delete what is left, shut the shim down, wait for it to leave."""
        try:
            try:
                self.call("Kill", signal=9, all=True)
            except TtrpcError:
                pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                try:
                    if self.state().status != STOPPED:
                        time.sleep(0.02)
                        continue
                    self.call("Delete")
                except TtrpcError:
                    pass
                break
            try:
                self.call("Shutdown", now=True)
            except (TtrpcError, OSError):
                pass
        finally:
            self.client.close()
        deadline = time.monotonic() + 5
        while Path(f"/proc/{self.shim_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
