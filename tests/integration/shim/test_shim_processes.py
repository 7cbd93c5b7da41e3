"""Execs, wrong-state errors and metrics, against containerd-shim-runc-v2's behaviour (SHIM=)."""

import os
import time
from pathlib import Path

import pytest
from pyrunc_ttrpc.status import TtrpcError

from tests.integration.shim.shimkit import (
    ROOTFS,
    RUNC,
    RUNC_SHIM,
    STOPPED,
    FifoReader,
    Task,
    differs,
    make_bundle,
)

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(not (ROOTFS / "bin" / "busybox").exists(), reason="run `make fixtures`"),
]


@pytest.fixture
def running(env):
    """A started `sleep` container: (task, tmp_path)."""
    tmp_path, token, ctrd = env
    task = Task(make_bundle(tmp_path, token, ["sleep", "1000"]), token, ctrd)
    try:
        task.create()
        task.call("Start")
        yield task, tmp_path
    finally:
        task.close()


def output(reader: FifoReader) -> str:
    """Ours closes the FIFOs of a process that never ran (the reader sees EOF); the runc shim
    keeps the ones it opened for it until it exits."""
    return reader.received() if RUNC_SHIM else reader.text()


def _failed_exec(task, tmp_path) -> tuple:
    """An exec of a missing binary: Start fails with the runtime's error, Wait answers at once."""
    out, err = FifoReader(tmp_path / "e1-out"), FifoReader(tmp_path / "e1-err")
    task.exec("e1", ["/no/such/binary"], stdout=str(out.path), stderr=str(err.path))
    started = time.monotonic()
    with pytest.raises(TtrpcError) as e:
        task.call("Start", exec_id="e1")
    assert e.value.code.name == "UNKNOWN"
    assert "OCI runtime exec failed" in e.value.message and "/no/such/binary" in e.value.message
    task.call("Wait", exec_id="e1")
    assert time.monotonic() - started < 5
    return out, err


def test_exec_of_a_missing_binary_fails_at_start_then_waits_and_deletes(running):
    task, tmp_path = running
    out, err = _failed_exec(task, tmp_path)
    with pytest.raises(TtrpcError) as e:
        task.call("Kill", exec_id="e1", signal=9)
    assert e.value.code.name == "FAILED_PRECONDITION"  # containerd's cleanup takes that as done
    task.call("Delete", exec_id="e1")
    with pytest.raises(TtrpcError) as e:
        task.state("e1")
    assert e.value.code.name == "NOT_FOUND"
    assert (output(out), output(err)) == ("", "")  # the runtime's error is the RPC's, not the output's


@differs("the failed exec stays `created` with pid 0, and Wait says exit status 0 at time zero")
def test_a_failed_exec_is_stopped_with_the_runtimes_exit_status(running):
    task, tmp_path = running
    _failed_exec(task, tmp_path)
    wait = task.call("Wait", exec_id="e1")
    state = task.state("e1")
    assert (state.status, state.pid, state.exit_status) == (STOPPED, 0, 255)  # runc exec's status
    assert wait.exit_status == 255 and wait.exited_at.seconds > 0
    task.call("Delete", exec_id="e1")


def test_the_runtimes_create_error_is_the_rpcs_not_the_containers_stderr(env):
    tmp_path, token, ctrd = env
    task = Task(make_bundle(tmp_path, token, ["/no/such/binary"]), token, ctrd)
    out, err = FifoReader(tmp_path / "out"), FifoReader(tmp_path / "err")
    try:
        with pytest.raises(TtrpcError) as e:
            task.create(stdout=str(out.path), stderr=str(err.path))
        assert "OCI runtime create failed" in e.value.message and "/no/such/binary" in e.value.message
    finally:
        task.close()
    assert (output(out), output(err)) == ("", "")


def _code(call, *args, **kw) -> str:
    try:
        call(*args, **kw)
    except TtrpcError as e:
        return e.code.name
    return "OK"


def test_exec_in_a_paused_task_is_refused_before_it_is_added(running, env):
    task, tmp_path = running
    ctrd = env[2]
    task.call("Pause")
    try:
        with pytest.raises(TtrpcError):
            task.exec("e1", ["true"])
    finally:
        task.call("Resume")
    assert "/tasks/exec-added" not in ctrd.topics()
    assert _code(task.state, "e1") == "NOT_FOUND"


def test_wrong_state_error_codes(running):
    task, tmp_path = running
    codes = {"start running init": _code(task.call, "Start"),
             "resume running": _code(task.call, "Resume"),
             "delete running init": _code(task.call, "Delete"),
             "unknown exec": _code(task.state, "nope")}
    task.exec("e1", ["sleep", "100"])
    codes["kill created exec"] = _code(task.call, "Kill", exec_id="e1", signal=9)
    task.call("Start", exec_id="e1")
    codes["start running exec"] = _code(task.call, "Start", exec_id="e1")
    codes["delete running exec"] = _code(task.call, "Delete", exec_id="e1")
    task.call("Kill", exec_id="e1", signal=9)
    task.call("Wait", exec_id="e1")
    codes["kill exited exec"] = _code(task.call, "Kill", exec_id="e1", signal=9)
    task.call("Pause")
    codes["pause paused"] = _code(task.call, "Pause")
    task.call("Resume")
    task.call("Kill", signal=9)
    task.call("Wait")
    codes["kill exited init"] = _code(task.call, "Kill", signal=9)
    codes["exec in exited init"] = _code(task.exec, "e2", ["true"])
    codes["pause exited"] = _code(task.call, "Pause")
    assert codes == {  # containerd-shim-runc-v2's: Unknown where its process states return plain errors
        "start running init": "UNKNOWN", "resume running": "UNKNOWN", "delete running init": "UNKNOWN",
        "unknown exec": "NOT_FOUND", "kill created exec": "FAILED_PRECONDITION", "start running exec": "UNKNOWN",
        "delete running exec": "UNKNOWN", "kill exited exec": "NOT_FOUND", "pause paused": "UNKNOWN",
        "kill exited init": "NOT_FOUND", "exec in exited init": "UNKNOWN", "pause exited": "UNKNOWN"}


def test_metrics_of_an_exited_task_until_delete(env):
    """Stats between the exit and Delete (the cgroup is still there), with memory.stat's total_*
    and the blkio controller's counters."""
    from pyrunc_proto.containerd.cgroups.v1 import metrics_pb2

    tmp_path, token, ctrd = env
    task = Task(make_bundle(tmp_path, token, ["sh", "-c", "head -c 4m /dev/zero > /dev/null"]), token, ctrd)
    try:
        task.create()
        task.call("Start")
        task.call("Wait")
        m = metrics_pb2.Metrics.FromString(task.call("Stats").stats.value)
        assert m.memory.total_pg_pg_in > 0 and m.memory.total_pg_fault > 0, m.memory
        throttle = Path(f"/sys/fs/cgroup/blkio/{token}/blkio.throttle.io_service_bytes")
        if throttle.exists():  # a device appears there once the cgroup did I/O on it (maybe none: cached)
            lines = [line.split() for line in throttle.read_text().splitlines() if ":" in line]
            got = [(f"{e.major}:{e.minor}", e.op, str(e.value)) for e in m.blkio.io_service_bytes_recursive]
            assert got == [tuple(line) for line in lines], m.blkio
    finally:
        task.close()


# a logging binary (binary:// log URI): output on fds 3 and 4, ready once fd 5 is closed; it
# finishes at EOF (a SIGTERM from the shim's Delete does not cut it short)
SHELL_LOGGER = """#!/bin/sh
trap '' TERM
cat <&3 5>&- > "$2/stdout" &
cat <&4 5>&- > "$2/stderr" &
exec 5>&-
wait
"""


def test_binary_log_uri_of_an_exec_with_a_terminal(running):
    """The pty's output goes to the logger's fd 3 (nerdctl's `run -dt` logs so)."""
    task, tmp_path = running
    logger = tmp_path / "logger"
    logger.write_text(SHELL_LOGGER)
    logger.chmod(0o755)
    out = tmp_path / "logs"
    out.mkdir()
    task.exec("e1", ["echo", "hi"], terminal=True, stdout=f"binary://{logger}?dir={out}")
    task.call("Start", exec_id="e1")
    assert task.call("Wait", exec_id="e1").exit_status == 0
    task.call("Delete", exec_id="e1")
    log = out / "stdout"
    deadline = time.monotonic() + 5  # the runc shim does not wait for a terminal's logger
    while not (log.exists() and log.read_bytes() == b"hi\r\n") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert log.read_bytes() == b"hi\r\n"
