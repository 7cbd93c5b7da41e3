"""Execs, wrong-state errors and metrics, against containerd-shim-runc-v2's behaviour (SHIM=)."""

import os
import time

import pytest
from pyrunc_shim.ttrpc.status import TtrpcError

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
