"""Which way the shim runs its runtime: pyrunc in a child forked from the shim (inprocess.py), any
other binary exec'd. A createRuntime hook runs in the runtime's `create` process and records that
process's first argv element and parent: the shim's pid either way; when forked, one title naming the
runtime's command line (set over the shim's), when exec'd the interpreter or runc itself. Neither
that process nor the init waiting for Start looks like a shim in /proc, and that init is the shim's
child once create has exited. The task runs to its exit either way (stdout, exit status, delete).
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from google.protobuf import any_pb2
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_ttrpc.status import TtrpcError

from tests.integration.shim.shimkit import ROOTFS, RUNC, RUNC_SHIM, STOPPED, FifoReader, Task, make_bundle

VENV_PYRUNC = str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "pyrunc")

pytestmark = [
    pytest.mark.skipif(RUNC_SHIM, reason="how our shim runs pyrunc"),
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(not os.access(VENV_PYRUNC, os.X_OK), reason="pyrunc is not installed"),
    pytest.mark.skipif(not (ROOTFS / "bin" / "busybox").exists(), reason="run `make fixtures`"),
]

# BinaryName -> forked (True) or exec'd; "" sends no options: the shim's default, pyrunc beside it
CASES = {"pyrunc-default": ("", True), "pyrunc": (VENV_PYRUNC, True), "runc": (RUNC, False),
         "crun": ("/usr/bin/crun", False)}


def _options(binary: str) -> any_pb2.Any | None:
    if not binary:
        return None
    return any_pb2.Any(type_url="containerd.runc.v1.Options",
                       value=oci_pb2.Options(binary_name=binary).SerializeToString())


@pytest.mark.parametrize("case", sorted(CASES))
def test_pyrunc_runs_in_a_child_of_the_shim_and_other_runtimes_are_execd(env, case):
    tmp_path, token, ctrd = env
    binary, forked = CASES[case]
    if binary and not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not installed")
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "echo hello; exit 3"])
    seen = tmp_path / "hook"
    spec = json.loads((bundle / "config.json").read_text())
    spec["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"tr '\\0' '\\n' < /proc/$PPID/cmdline | head -n 1 > {seen}; "
                    f"grep ^PPid: /proc/$PPID/status >> {seen}; cat /proc/$PPID/comm >> {seen}"]}]}
    (bundle / "config.json").write_text(json.dumps(spec))
    os.mkfifo(tmp_path / "out")
    out = FifoReader(tmp_path / "out")
    task = Task(bundle, token, ctrd)
    try:
        fields = {"options": opts} if (opts := _options(binary)) else {}
        try:
            init = task.call("Create", bundle=str(bundle), stdout=str(tmp_path / "out"), **fields).pid
        except TtrpcError as e:
            # crun 1.8 refuses cgroup v1 hybrid hosts such as this one: its own words, so it ran
            if case == "crun" and "cgroups in hybrid mode not supported" in str(e):
                return
            raise
        argv0, ppid, comm = seen.read_text().splitlines()
        if forked:
            # the title fits in the shim's own argv and environ area: a long command line is cut
            assert argv0.startswith(f"{VENV_PYRUNC} --root "), argv0
        else:
            assert argv0 == binary
        assert comm == os.path.basename(binary or VENV_PYRUNC)
        assert ppid.split() == ["PPid:", str(task.shim_pid)]
        assert b"containerd-shim" not in Path(f"/proc/{init}/cmdline").read_bytes()
        # the runtime's create has exited: its init is the shim's (a subreaper's) to reap
        assert f"PPid:\t{task.shim_pid}\n" in Path(f"/proc/{init}/status").read_text()
        task.call("Start")
        deadline = time.monotonic() + 10
        while task.state().status != STOPPED and time.monotonic() < deadline:
            time.sleep(0.02)
        assert task.state().exit_status == 3
        assert out.received() == "hello\n"
        assert task.call("Delete").exit_status == 3
    finally:
        task.close()
        shutil.rmtree(f"/run/containerd/{os.path.basename(binary or VENV_PYRUNC)}/{token}", ignore_errors=True)
