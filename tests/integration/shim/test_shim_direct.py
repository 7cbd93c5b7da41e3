"""The shim's contract without containerd: we play containerd's part (shimkit.py).

`start` in a bundle prints an address; a ttrpc client drives the Task service there; a ttrpc
server of ours stands in for containerd's events service (TTRPC_ADDRESS) and records what the
shim publishes; `delete` after a SIGKILLed shim prints a DeleteResponse. The runtime is Debian's
runc (pyrunc is covered by the e2e tests). SHIM=/usr/bin/containerd-shim-runc-v2 runs the same
tests against containerd's own shim.
"""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from pyrunc_proto.containerd.events import task_pb2 as events
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_ttrpc.client import Client, connect
from pyrunc_ttrpc.status import TtrpcError

from tests.integration.shim.shimkit import (
    ROOTFS,
    RUNC,
    RUNC_SHIM,
    RUNNING,
    SHIM,
    TASK,
    FifoReader,
    Task,
    differs,
    make_bundle,
    ours_only,
    runc_options,
    shim,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(not (ROOTFS / "bin" / "busybox").exists(), reason="run `make fixtures`"),
]


def test_full_task_lifecycle(env):
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "read line; echo out:$line; echo err >&2; exit 3"])
    stdin, stdout, stderr = (tmp_path / n for n in ("in", "out", "err"))
    os.mkfifo(stdin)
    out, err = FifoReader(stdout), FifoReader(stderr)

    def client_stdin():  # as ctr does: its open(O_WRONLY) waits for the shim's reader
        with open(stdin, "w") as f:
            f.write("hello\n")

    writer = threading.Thread(target=client_stdin, daemon=True)
    writer.start()
    r = shim(bundle, token, ctrd.path, "start")
    assert r.returncode == 0, r.stderr
    address = r.stdout.decode()
    assert address.startswith("unix:///") and (bundle / "address").read_text() == address
    c = Client(connect(address))
    shim_pid = api.ConnectResponse.FromString(c.call(TASK, "Connect", b"")).shim_pid
    try:
        req = api.CreateTaskRequest(id=token, bundle=str(bundle), stdin=str(stdin), stdout=str(stdout),
                                    stderr=str(stderr), options=runc_options())
        pid = api.CreateTaskResponse.FromString(c.call(TASK, "Create", req.SerializeToString())).pid
        state = api.StateResponse.FromString(c.call(TASK, "State", api.StateRequest(id=token).SerializeToString()))
        assert (state.pid, state.status) == (pid, 1)  # CREATED

        c.call(TASK, "Start", api.StartRequest(id=token).SerializeToString())
        wait = api.WaitResponse.FromString(c.call(TASK, "Wait", api.WaitRequest(id=token).SerializeToString()))
        assert wait.exit_status == 3 and wait.exited_at.seconds > 0
        assert out.text() == "out:hello\n" and err.text() == "err\n"

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
    c = Client(connect(address))
    shim_pid = api.ConnectResponse.FromString(c.call(TASK, "Connect", b"")).shim_pid
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
    socket_path = Path(address.removeprefix("unix://"))
    if RUNC_SHIM:  # the runc shim leaves the dead server's socket to containerd, which removes it
        socket_path.unlink(missing_ok=True)
    assert not socket_path.exists()  # ours removes it: pyruncd does not know the path


def test_version():
    r = subprocess.run([SHIM, "-v"], capture_output=True, check=True)
    assert os.path.basename(SHIM).encode() + b":" in r.stdout and b"Version" in r.stdout


@ours_only("`start` reads the runtime config file, so that the serving process never loads tomllib")
def test_start_refuses_a_missing_runtime_config(tmp_path):
    from pyrunc_proto import wire

    opts = wire.encode("google.protobuf.Any", type_url="runtimeoptions.v1.Options",
                       value=wire.encode("runtimeoptions.v1.Options", config_path=str(tmp_path / "nope.toml")))
    r = shim(tmp_path, f"cfg{os.getpid()}", "", "start", stdin=opts)
    assert r.returncode != 0 and b"nope.toml" in r.stderr
    assert not (tmp_path / "address").exists()


@ours_only("containerd 1.6's runc shim publishes only to TTRPC_ADDRESS; pyruncd gives none")
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


@differs("its CloseIO only closes its own writer: stdin ends once every client closed its FIFO too")
@pytest.mark.parametrize("pause", [0.3, 0], ids=["read", "still-in-fifo"])
def test_closeio_ends_stdin_while_the_client_keeps_its_fifo_open(env, pause):
    """The client writes, then (at once, or after the shim read it) calls CloseIO with its FIFO open:
    the process gets every byte, then EOF."""
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "cat; echo done"])
    stdin, stdout = tmp_path / "in", tmp_path / "out"
    os.mkfifo(stdin)
    out = FifoReader(stdout)
    holder = os.open(stdin, os.O_RDWR)  # the client's end, never closed during the test
    task = Task(bundle, token, ctrd, timeout=5)
    try:
        task.create(stdin=str(stdin), stdout=str(stdout))
        task.call("Start")
        os.write(holder, b"typed\n")
        time.sleep(pause)
        task.call("CloseIO", stdin=True)
        assert task.call("Wait").exit_status == 0
        assert out.text() == "typed\ndone\n"
    finally:
        task.close()
        os.close(holder)


@differs("its Create waits for a reader to open each output FIFO (containerd opens them first); "
         "pyruncd may be away (restarting) and must not hang the shim")
def test_output_nobody_read_before_the_exit_waits_in_the_fifo_then_eof(env):
    """The reader is away while the process writes and exits (pyruncd restarting): the shim's own
    end keeps the output in the FIFO; once a reader has taken it all, the reader sees EOF."""
    tmp_path, token, ctrd = env
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "echo first; echo second >&2"])
    stdout, stderr = tmp_path / "out", tmp_path / "err"
    os.mkfifo(stdout)
    os.mkfifo(stderr)
    address = shim(bundle, token, ctrd.path, "start").stdout.decode()
    c = Client(connect(address), timeout=5 if RUNC_SHIM else 20)
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
        except (TtrpcError, TimeoutError):
            pass
        finally:
            c.call(TASK, "Shutdown", api.ShutdownRequest(id=token, now=True).SerializeToString())
            c.close()


@differs("a second Create runs `runc create` again and returns its error as Unknown")
def test_create_twice_is_already_exists(env):
    tmp_path, token, ctrd = env
    task = Task(make_bundle(tmp_path, token, ["true"]), token, ctrd)
    try:
        task.create()
        with pytest.raises(TtrpcError) as e:
            task.create()
        assert e.value.code.name == "ALREADY_EXISTS"
    finally:
        task.close()


def test_stdin_outlives_its_clients_until_closeio(env):
    """`ctr run -d` writes and leaves, `ctr task attach` comes later: stdin ends only at CloseIO."""
    tmp_path, token, ctrd = env
    stdin = tmp_path / "in"
    os.mkfifo(stdin)
    out, err = FifoReader(tmp_path / "out"), FifoReader(tmp_path / "err")
    task = Task(make_bundle(tmp_path, token, ["sh", "-c", "cat; echo done"]), token, ctrd)
    try:
        task.create(stdin=str(stdin), stdout=str(out.path), stderr=str(err.path))
        task.call("Start")
        for line in (b"first\n", b"second\n"):  # two clients, one after the other
            fd = os.open(stdin, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO: the shim stopped reading
            os.write(fd, line)
            os.close(fd)
            time.sleep(0.3)
        assert task.state().status == RUNNING, "stdin ended when a client closed its FIFO"
        task.call("CloseIO", stdin=True)
        assert task.call("Wait").exit_status == 0
        assert out.text() == "first\nsecond\ndone\n"
    finally:
        task.close()
