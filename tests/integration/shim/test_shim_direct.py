"""The shim's contract without containerd: we play containerd's part.

`start` in a bundle prints an address; a ttrpc client drives the Task service there; a ttrpc
server of ours stands in for containerd's events service (TTRPC_ADDRESS) and records what the
shim publishes; `delete` after a SIGKILLed shim prints a DeleteResponse. The runtime is Debian's
runc (pyrunc is covered by the e2e tests once it runs containers).
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from pyrunc_proto.containerd.events import task_pb2 as events
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_proto.containerd.services.ttrpc.events.v1 import events_pb2
from pyrunc_shim.ttrpc.client import Client, connect
from pyrunc_shim.ttrpc.server import Server
from pyrunc_shim.ttrpc.status import TtrpcError

from tests.harness.leaks import leaks

REPO = Path(__file__).resolve().parents[3]
SHIM = REPO / ".venv" / "bin" / "containerd-shim-pyrunc-v2"
ROOTFS = REPO / "spec-fixtures" / "out" / "bundle" / "rootfs"
RUNC = "/usr/sbin/runc"
TASK = "containerd.task.v2.Task"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(not (ROOTFS / "bin" / "busybox").exists(), reason="run `make fixtures`"),
]


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


@pytest.fixture
def env(tmp_path):
    token = f"shimt{os.getpid()}{uuid.uuid4().hex[:6]}"
    ctrd = FakeContainerd(str(tmp_path / "events.sock"))
    yield tmp_path, token, ctrd
    ctrd.close()
    subprocess.run([RUNC, "--root", f"/run/containerd/runc/{token}", "delete", "--force", token],
                   capture_output=True, check=False)
    subprocess.run(["rm", "-rf", f"/run/containerd/runc/{token}"], check=False)
    left = leaks(token, tmp_path)
    assert not left, "\n".join(left)


def make_bundle(tmp_path: Path, token: str, args: list[str]) -> Path:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    subprocess.run([RUNC, "spec", "--bundle", str(bundle)], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"]["terminal"] = False
    spec["process"]["args"] = args
    spec["root"] = {"path": str(ROOTFS), "readonly": True}
    spec["linux"]["cgroupsPath"] = f"/{token}"
    (bundle / "config.json").write_text(json.dumps(spec))
    return bundle


def shim(bundle: Path, token: str, events_address: str, action: str, *extra: str,
         stdin: bytes = b"", publish_binary: str = "/bin/false") -> subprocess.CompletedProcess:
    env = dict(os.environ, TTRPC_ADDRESS=events_address)
    return subprocess.run([str(SHIM), "-namespace", token, "-address", "/fake/containerd.sock",
                           "-publish-binary", publish_binary, "-id", token, *extra, action],
                          cwd=bundle, env=env, input=stdin, capture_output=True, timeout=30)


def runc_options() -> any_pb2.Any:
    return any_pb2.Any(type_url="containerd.runc.v1.Options",
                       value=oci_pb2.Options(binary_name=RUNC).SerializeToString())


def test_full_task_lifecycle(env):
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "read line; echo out:$line; echo err >&2; exit 3"])
    stdin, stdout, stderr = (tmp_path / n for n in ("in", "out", "err"))
    os.mkfifo(stdin)

    def client_stdin():  # as ctr does: its open(O_WRONLY) waits for the shim's reader
        with open(stdin, "w") as f:
            f.write("hello\n")

    writer = threading.Thread(target=client_stdin, daemon=True)
    writer.start()
    r = shim(bundle, token, ctrd.path, "start")
    assert r.returncode == 0, r.stderr
    address = r.stdout.decode()
    assert address.startswith("unix:///") and (bundle / "address").read_text() == address
    shim_pid = int((bundle / "shim.pid").read_text())
    c = Client(connect(address))
    try:
        req = api.CreateTaskRequest(id=token, bundle=str(bundle), stdin=str(stdin), stdout=str(stdout),
                                    stderr=str(stderr), options=runc_options())
        pid = api.CreateTaskResponse.FromString(c.call(TASK, "Create", req.SerializeToString())).pid
        state = api.StateResponse.FromString(c.call(TASK, "State", api.StateRequest(id=token).SerializeToString()))
        assert (state.pid, state.status) == (pid, 1)  # CREATED
        with pytest.raises(TtrpcError) as e:
            c.call(TASK, "Create", req.SerializeToString())
        assert e.value.code.name == "ALREADY_EXISTS"

        c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
        wait = api.WaitResponse.FromString(c.call(TASK, "Wait", api.WaitRequest(id=token).SerializeToString()))
        assert wait.exit_status == 3 and wait.exited_at.seconds > 0
        assert stdout.read_text() == "out:hello\n" and stderr.read_text() == "err\n"

        with pytest.raises(TtrpcError) as e:
            c.call(TASK, "Kill", api.KillRequest(id=token, signal=9).SerializeToString())
        assert e.value.code.name == "NOT_FOUND"
        d = api.DeleteResponse.FromString(c.call(TASK, "Delete", api.DeleteRequest(id=token).SerializeToString()))
        assert (d.pid, d.exit_status) == (pid, 3)
        with pytest.raises(TtrpcError) as e:
            c.call(TASK, "State", api.StateRequest(id=token).SerializeToString())
        assert e.value.code.name == "NOT_FOUND"
        conn = api.ConnectResponse.FromString(c.call(TASK, "Connect", api.ConnectRequest(id=token).SerializeToString()))
        assert conn.shim_pid == shim_pid
        c.call(TASK, "Shutdown", api.ShutdownRequest(id=token).SerializeToString())
    finally:
        c.close()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{shim_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{shim_pid}").exists(), "the shim did not exit on Shutdown"
    assert not Path(address.removeprefix("unix://")).exists()
    ctrd.wait_topic("/tasks/delete")
    assert ctrd.topics() == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]
    ns, _, url, value = ctrd.events[2]
    assert (ns, url) == (token, "containerd.events.TaskExit")
    assert events.TaskExit.FromString(value).exit_status == 3


def test_update_then_delete_after_the_shim_was_killed(env):
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sleep", "1000"])
    address = shim(bundle, token, ctrd.path, "start").stdout.decode()
    shim_pid = int((bundle / "shim.pid").read_text())
    c = Client(connect(address))
    req = api.CreateTaskRequest(id=token, bundle=str(bundle), options=runc_options())
    pid = api.CreateTaskResponse.FromString(c.call(TASK, "Create", req.SerializeToString())).pid
    c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
    # Update passes containerd's LinuxResources JSON to `runc update --resources -`
    resources = any_pb2.Any(type_url="types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
                            value=json.dumps({"memory": {"limit": 32 << 20}}).encode())
    c.call(TASK, "Update", api.UpdateTaskRequest(id=token, resources=resources).SerializeToString())
    assert Path(f"/sys/fs/cgroup/memory/{token}/memory.limit_in_bytes").read_text().strip() == str(32 << 20)
    c.close()
    os.kill(shim_pid, signal.SIGKILL)
    r = shim(bundle, token, ctrd.path, "delete", "-bundle", str(bundle))
    assert r.returncode == 0, r.stderr
    resp = api.DeleteResponse.FromString(r.stdout)
    assert resp.exit_status == 137 and resp.exited_at.seconds > 0
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not Path(f"/proc/{pid}").exists(), "the container outlived `shim delete`"
    assert not Path(address.removeprefix("unix://")).exists()


def test_version():
    r = subprocess.run([str(SHIM), "-v"], capture_output=True, check=True)
    assert b"containerd-shim-pyrunc-v2" in r.stdout and b"Version" in r.stdout


def test_start_refuses_a_missing_runtime_config(tmp_path):
    from pyrunc_proto import wire

    opts = wire.encode("google.protobuf.Any", type_url="runtimeoptions.v1.Options",
                       value=wire.encode("runtimeoptions.v1.Options", config_path=str(tmp_path / "nope.toml")))
    r = shim(tmp_path, f"cfg{os.getpid()}", "", "start", stdin=opts)
    assert r.returncode != 0 and b"nope.toml" in r.stderr
    assert not (tmp_path / "address").exists()


def test_events_through_the_publish_binary_without_ttrpc_address(env):
    tmp_path, token, _ = env
    bundle = make_bundle(tmp_path, token, ["true"])
    log = tmp_path / "published"
    publisher = tmp_path / "publish"
    publisher.write_text(f'#!/bin/sh\necho "$@" >> {log}\ncat >> {log}.data\n')
    publisher.chmod(0o755)
    address = shim(bundle, token, "", "start", publish_binary=str(publisher)).stdout.decode()
    c = Client(connect(address))
    req = api.CreateTaskRequest(id=token, bundle=str(bundle), options=runc_options())
    c.call(TASK, "Create", req.SerializeToString())
    c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
    c.call(TASK, "Wait", api.WaitRequest(id=token).SerializeToString())
    c.call(TASK, "Delete", api.DeleteRequest(id=token).SerializeToString())
    c.call(TASK, "Shutdown", api.ShutdownRequest(id=token).SerializeToString())
    c.close()
    lines = log.read_text().splitlines()
    assert lines[0] == f"--address /fake/containerd.sock publish --topic /tasks/create --namespace {token}"
    assert [line.split()[4] for line in lines] == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]
    assert (tmp_path / "published.data").read_bytes().startswith(b"\x0a\x1ccontainerd.events.TaskCreate")  # an Any


@pytest.mark.parametrize("pause", [0.3, 0], ids=["read", "still-in-fifo"])
def test_closeio_ends_stdin_while_the_client_keeps_its_fifo_open(env, pause):
    """The client writes, then (at once, or after the shim read it) calls CloseIO with its FIFO open:
    the process gets every byte, then EOF."""
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "cat; echo done"])
    stdin, stdout = tmp_path / "in", tmp_path / "out"
    os.mkfifo(stdin)
    holder = os.open(stdin, os.O_RDWR)  # the client's end, never closed during the test
    try:
        address = shim(bundle, token, ctrd.path, "start").stdout.decode()
        c = Client(connect(address), timeout=20)
        req = api.CreateTaskRequest(id=token, bundle=str(bundle), stdin=str(stdin), stdout=str(stdout),
                                    options=runc_options())
        c.call(TASK, "Create", req.SerializeToString())
        c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
        os.write(holder, b"typed\n")
        time.sleep(pause)
        c.call(TASK, "CloseIO", api.CloseIORequest(id=token, stdin=True).SerializeToString())
        wait = api.WaitResponse.FromString(c.call(TASK, "Wait", api.WaitRequest(id=token).SerializeToString()))
        assert wait.exit_status == 0
        assert stdout.read_text() == "typed\ndone\n"
        c.call(TASK, "Delete", api.DeleteRequest(id=token).SerializeToString())
        c.call(TASK, "Shutdown", api.ShutdownRequest(id=token).SerializeToString())
        c.close()
    finally:
        os.close(holder)


def test_output_nobody_read_before_the_exit_waits_in_the_fifo_then_eof(env):
    """The reader is away while the process writes and exits (pyruncd restarting): the shim's own
    end keeps the output in the FIFO; once a reader has taken it all, the reader sees EOF."""
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "echo first; echo second >&2"])
    stdout, stderr = tmp_path / "out", tmp_path / "err"
    os.mkfifo(stdout)
    os.mkfifo(stderr)
    address = shim(bundle, token, ctrd.path, "start").stdout.decode()
    c = Client(connect(address), timeout=20)
    try:
        req = api.CreateTaskRequest(id=token, bundle=str(bundle), stdout=str(stdout), stderr=str(stderr),
                                    options=runc_options())
        c.call(TASK, "Create", req.SerializeToString())
        c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
        c.call(TASK, "Wait", api.WaitRequest(id=token).SerializeToString())
        time.sleep(0.2)  # long past the exit
        for fifo, text in ((stdout, b"first\n"), (stderr, b"second\n")):
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            try:
                assert os.read(fd, 100) == text
                deadline = time.monotonic() + 5
                while True:  # EOF once the shim sees the pipe empty (not at Delete)
                    try:
                        if os.read(fd, 100) == b"":
                            break
                    except BlockingIOError:
                        pass
                    assert time.monotonic() < deadline, "no EOF after the output was read"
                    time.sleep(0.01)
            finally:
                os.close(fd)
    finally:
        try:  # also when an assertion failed: no shim outlives the test
            c.call(TASK, "Delete", api.DeleteRequest(id=token).SerializeToString())
        finally:
            c.call(TASK, "Shutdown", api.ShutdownRequest(id=token, now=True).SerializeToString())
            c.close()
