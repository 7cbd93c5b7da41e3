"""Debian's containerd 1.6 with its own shim (io.containerd.runc.v2) drives pyrunc as its runc:
`ctr run --runc-binary PYRUNC`. Every test also runs with runc itself, so a failure that shows
only with pyrunc is pyrunc's.

One containerd (temp root, state and sockets, its own namespace) serves the module.
"""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.harness import leaks
from tests.harness.containerd import VENV_BIN, Containerd, available
from tests.harness.dockerd import run_in_pty

REPO = Path(__file__).resolve().parents[2]
IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
BINARIES = {"pyrunc": str(VENV_BIN / "pyrunc"), "runc": "/usr/sbin/runc"}

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "containerd available"),
    pytest.mark.skipif(not IMAGE_TAR.exists(), reason=f"{IMAGE_TAR} missing: run `make fixtures`"),
]


@pytest.fixture(scope="module")
def ctrd():
    c = Containerd()
    with c.serving(IMAGE_TAR):
        yield c
    assert not Path(f"/run/containerd/runc/{c.namespace}").exists()


@pytest.fixture(params=sorted(BINARIES))
def binary(request):
    if not os.access(BINARIES[request.param], os.X_OK):
        pytest.skip(f"{BINARIES[request.param]} is not installed")
    return BINARIES[request.param]


_ids = iter(range(1, 1 << 30))


def new_id(binary: str) -> str:
    return f"{os.path.basename(binary)}-{next(_ids)}"


def run(c: Containerd, binary: str, flags: list[str], cid: str, *cmd: str, check: bool = False,
        input: bytes | None = None) -> subprocess.CompletedProcess:
    return c.ctr("run", "--runc-binary", binary, *flags, c.image, cid, *cmd, check=check, input=input)


def tasks(c: Containerd) -> dict[str, tuple[int, str]]:
    """task id -> (pid, status), from `ctr tasks ls`."""
    out = {}
    for line in c.ctr("tasks", "ls").stdout.decode().splitlines()[1:]:
        fields = line.split()
        out[fields[0]] = (int(fields[1]), fields[2])
    return out


def wait_status(c: Containerd, cid: str, want: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = tasks(c).get(cid, (0, ""))[1]
        if status == want or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def runtime_state(c: Containerd, binary: str, cid: str) -> dict:
    """The runtime's own view: the shim keeps its containers under /run/containerd/runc/NAMESPACE."""
    root = f"/run/containerd/runc/{c.namespace}"
    return json.loads(subprocess.run([binary, "--root", root, "state", cid], capture_output=True,
                                     check=True).stdout)


def test_run_output_and_exit_code(ctrd, binary):
    r = run(ctrd, binary, ["--rm"], new_id(binary), "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    r = run(ctrd, binary, ["--rm"], new_id(binary), "sh", "-c", "read x; echo got $x", input=b"hi\n")
    assert (r.returncode, r.stdout) == (0, b"got hi\n"), r.stderr


def test_exec_pause_resume_kill_delete(ctrd, binary):
    cid = new_id(binary)
    run(ctrd, binary, ["-d"], cid, "sleep", "1000", check=True)
    assert wait_status(ctrd, cid, "RUNNING") == "RUNNING"
    pid = tasks(ctrd)[cid][0]
    assert runtime_state(ctrd, binary, cid)["pid"] == pid  # this binary runs it

    r = ctrd.ctr("tasks", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo from exec; exit 4", check=False)
    assert (r.returncode, r.stdout) == (4, b"from exec\n"), r.stderr
    ctrd.ctr("tasks", "exec", "-d", "--exec-id", "e2", cid, "sleep", "500")
    ps = ctrd.ctr("tasks", "ps", cid).stdout.decode().splitlines()[1:]
    assert len(ps) == 2 and str(pid) in " ".join(ps), ps

    ctrd.ctr("tasks", "pause", cid)
    assert tasks(ctrd)[cid][1] == "PAUSED"
    assert runtime_state(ctrd, binary, cid)["status"] == "paused"
    ctrd.ctr("tasks", "resume", cid)
    assert tasks(ctrd)[cid][1] == "RUNNING"

    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    assert wait_status(ctrd, cid, "STOPPED") == "STOPPED"
    r = ctrd.ctr("tasks", "delete", cid)
    assert b"137" in r.stderr  # ctr warns with the exit status
    ctrd.ctr("containers", "delete", cid)
    assert cid not in tasks(ctrd)
    assert not Path(f"/proc/{pid}").exists()
    assert not leaks.mounts_naming(str(ctrd.bundle_dir(cid)))
    assert not list(Path(leaks.CGROUP_ROOT).glob(f"*/{ctrd.namespace}/{cid}"))


def test_kill_all_execs_with_the_container(ctrd, binary):
    """kill --all reaches the exec'd processes too; delete then leaves no process behind."""
    cid = new_id(binary)
    run(ctrd, binary, ["-d"], cid, "sleep", "1000", check=True)
    assert wait_status(ctrd, cid, "RUNNING") == "RUNNING"
    ctrd.ctr("tasks", "exec", "-d", "--exec-id", "e1", cid, "sleep", "600")
    ctrd.ctr("tasks", "kill", "-a", "-s", "SIGKILL", cid)
    assert wait_status(ctrd, cid, "STOPPED") == "STOPPED"
    ctrd.ctr("tasks", "delete", cid)
    ctrd.ctr("containers", "delete", cid)
    assert not leaks.processes_naming(f"{ctrd.namespace}/{cid}")


def test_terminal(ctrd, binary):
    """`ctr run -t` on a 30x100 pty: the container's shell has a tty of that size (the shim makes
    the runtime pass the pty master back through --console-socket), reads what is typed and exits
    with the status given."""
    argv = ["ctr", "--address", ctrd.address, "--namespace", ctrd.namespace, "run", "--runc-binary", binary,
            "-t", "--rm", ctrd.image, new_id(binary), "sh"]
    code, out = run_in_pty(argv, ctrd.env, steps=[
        (b"# ", b"sleep 0.5; tty; stty size; echo $((6 * 7))\r"),  # ctr resizes the pty after start
        (b"\n42\r", b"exit 5\r"),
    ])
    assert code == 5, out
    assert b"/dev/pts/0" in out and b"30 100" in out, out


def test_exec_terminal(ctrd, binary):
    """`ctr tasks exec -t`: an exec'd process gets its own pty through the console socket."""
    cid = new_id(binary)
    run(ctrd, binary, ["-d"], cid, "sleep", "1000", check=True)
    try:
        assert wait_status(ctrd, cid, "RUNNING") == "RUNNING"
        argv = ["ctr", "--address", ctrd.address, "--namespace", ctrd.namespace, "tasks", "exec", "-t",
                "--exec-id", "t1", cid, "sh"]
        code, out = run_in_pty(argv, ctrd.env, rows=24, cols=90, steps=[
            (b"# ", b"sleep 0.5; tty; stty size; exit 6\r"),
        ])
        assert code == 6, out
        assert b"/dev/pts/" in out and b"24 90" in out, out
    finally:
        ctrd.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
        wait_status(ctrd, cid, "STOPPED")
        ctrd.ctr("tasks", "delete", cid, check=False)
        ctrd.ctr("containers", "delete", cid, check=False)


def test_missing_command_is_reported(ctrd, binary):
    """The runtime's error (the shim reads it from log.json) reaches ctr."""
    name = os.path.basename(binary)
    r = run(ctrd, binary, ["--rm"], new_id(binary), "/nonexistent")
    assert r.returncode != 0
    assert (f'{name} create failed: unable to start container process: exec: "/nonexistent": '
            "stat /nonexistent: no such file or directory").encode() in r.stderr, r.stderr
    cid = new_id(binary)
    run(ctrd, binary, ["-d"], cid, "sleep", "1000", check=True)
    try:
        r = ctrd.ctr("tasks", "exec", "--exec-id", "e1", cid, "/nonexistent", check=False)
        assert r.returncode != 0
        assert b'exec: "/nonexistent": stat /nonexistent: no such file or directory' in r.stderr, r.stderr
    finally:
        ctrd.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False)
        wait_status(ctrd, cid, "STOPPED")
        ctrd.ctr("tasks", "delete", cid, check=False)
        ctrd.ctr("containers", "delete", cid, check=False)


def test_non_executable_command_fails_create(ctrd, binary):
    cid = new_id(binary)
    r = run(ctrd, binary, ["--rm"], cid, "/etc/passwd")
    ctrd.ctr("containers", "delete", cid, check=False)
    assert r.returncode != 0
    assert b'exec: "/etc/passwd": permission denied' in r.stderr, r.stderr
