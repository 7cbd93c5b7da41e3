"""Real containerd (Debian's 1.6) drives containerd-shim-pyrunc-v2, with runc and with pyrunc.

Each test starts its own containerd (temp root, state and sockets, its own namespace), imports
the fixture busybox image and uses `ctr run --runtime io.containerd.pyrunc.v2`. ctr 1.6 only sends
--runc-binary to io.containerd.runc.v2, so the runtime binary is chosen with
`--runtime-config-path FILE` (BinaryName = ...); without it the shim runs pyrunc.
"""

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.harness import leaks
from tests.harness.containerd import VENV_BIN, Containerd, available

REPO = Path(__file__).resolve().parents[2]
IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
RUNTIME = "io.containerd.pyrunc.v2"
RUNTIMES = {"runc": "/usr/sbin/runc", "pyrunc": str(VENV_BIN / "pyrunc")}

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "containerd available"),
    pytest.mark.skipif(not IMAGE_TAR.exists(), reason=f"{IMAGE_TAR} missing: run `make fixtures`"),
]


@pytest.fixture(params=sorted(RUNTIMES))
def ctrd(request, tmp_path):
    binary = RUNTIMES[request.param]
    if not os.access(binary, os.X_OK):
        pytest.skip(f"{binary} is not installed")
    config = tmp_path / "runtime.toml"
    config.write_text(f'BinaryName = "{binary}"\n')
    c = Containerd()
    c.run_flags = ["--runtime", RUNTIME, "--runtime-config-path", str(config)]
    with c.serving(IMAGE_TAR):
        yield c


def run(c: Containerd, flags: list[str], cid: str, *cmd: str, check: bool = False,
        timeout: float = 60) -> subprocess.CompletedProcess:
    """`ctr run [flags] IMAGE ID CMD...` with our runtime."""
    return c.ctr("run", *c.run_flags, *flags, c.image, cid, *cmd, check=check, timeout=timeout)


def task_status(c: Containerd, cid: str) -> str:
    for line in c.ctr("tasks", "ls").stdout.decode().splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return fields[2]
    return ""


def wait_status(c: Containerd, cid: str, want: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    status = task_status(c, cid)
    while status != want and time.monotonic() < deadline:
        time.sleep(0.05)
        status = task_status(c, cid)
    return status


def task_pid(c: Containerd, cid: str) -> int:
    for line in c.ctr("tasks", "ls").stdout.decode().splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == cid:
            return int(fields[1])
    raise AssertionError(f"no task {cid}")


def test_run_prints_and_propagates_exit_codes(ctrd):
    r = run(ctrd, ["--rm"], "c1", "echo", "hi", check=True)
    assert r.stdout == b"hi\n"
    r = run(ctrd, ["--rm"], "c2", "sh", "-c", "echo oops >&2; exit 3")
    assert (r.returncode, r.stdout, r.stderr) == (3, b"", b"oops\n")
    # no `cat` with stdin at EOF here: ctr calls CloseIO only for an EOF that comes after its task
    # exists, and the shim, like containerd-shim-runc-v2, holds stdin open until CloseIO


def test_log_uri_file(ctrd, tmp_path):
    log = tmp_path / "out.log"
    run(ctrd, ["--rm", "--log-uri", f"file://{log}"], "c1", "sh", "-c", "echo out; echo err >&2", check=True)
    assert sorted(log.read_text().split()) == ["err", "out"]


# A logging binary as nerdctl's: stdout on fd 3, stderr on fd 4, ready once fd 5 is closed. It
# ignores SIGTERM (sent once the shim closed its ends of the pipes) and ends at EOF, so when Delete
# returns everything is in the files.
LOGGER = """#!{python}
import json, os, signal, sys, threading, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
out = sys.argv[2]
def copy(fd, name):
    with open(os.path.join(out, name), "ab") as f:
        while data := os.read(fd, 65536):
            f.write(data)
            f.flush()
copies = [threading.Thread(target=copy, args=(fd, name)) for fd, name in ((3, "stdout"), (4, "stderr"))]
for t in copies:
    t.start()
with open(os.path.join(out, "info.json"), "w") as f:
    json.dump({{"argv": sys.argv[1:], "env": dict(os.environ), "pid": os.getpid()}}, f)
time.sleep(0.3)  # the container must not start before this
with open("/proc/uptime") as up, open(os.path.join(out, "ready"), "w") as f:
    f.write(up.read())
os.close(5)
for t in copies:
    t.join()
"""


def check_binary_logger(c: Containerd, run_flags: list[str], tmp_path: Path) -> None:
    """`ctr run --log-uri binary://LOGGER?dir=OUT`: the containerd-shim-runc-v2 contract."""
    import json
    import sys

    logger = tmp_path / "logger"
    logger.write_text(LOGGER.format(python=sys.executable))
    logger.chmod(0o755)
    out = tmp_path / "out"
    out.mkdir()
    r = c.ctr("run", *run_flags, "--rm", "--log-uri", f"binary://{logger}?dir={out}", c.image, "c1",
              "sh", "-c", "cat /proc/uptime; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout) == (3, b""), r.stderr
    started = float((out / "stdout").read_text().split()[0])
    assert (out / "stderr").read_text() == "err\n"
    assert float((out / "ready").read_text().split()[0]) <= started  # the container started once the logger was ready
    info = json.loads((out / "info.json").read_text())
    assert info["argv"] == ["dir", str(out)]  # the query's keys and values
    env = {k: v for k, v in info["env"].items() if k != "LC_CTYPE"}  # which Python may add
    assert env == {"CONTAINER_ID": "c1", "CONTAINER_NAMESPACE": c.namespace}
    assert not Path(f"/proc/{info['pid']}").exists()  # waited for by Delete

    # an exec's own logger, told the exec's id
    c.ctr("run", *run_flags, "-d", c.image, "c3", "sleep", "1000")
    exec_out = tmp_path / "exec"
    exec_out.mkdir()
    r = c.ctr("tasks", "exec", "--exec-id", "e1", "--log-uri", f"binary://{logger}?dir={exec_out}", "c3",
              "sh", "-c", "echo out; echo err >&2", check=False)
    assert r.returncode == 0, r.stderr
    assert ((exec_out / "stdout").read_text(), (exec_out / "stderr").read_text()) == ("out\n", "err\n")
    info = json.loads((exec_out / "info.json").read_text())
    assert info["env"]["CONTAINER_ID"] == "e1"
    assert not Path(f"/proc/{info['pid']}").exists()
    c.ctr("tasks", "kill", "-s", "SIGKILL", "c3")
    assert wait_status(c, "c3", "STOPPED") == "STOPPED"
    c.ctr("tasks", "delete", "c3")

    r = c.ctr("run", *run_flags, "--rm", "--log-uri", f"binary://{tmp_path}/missing", c.image, "c2", "true",
              check=False)
    assert r.returncode != 0 and b"missing" in r.stderr, r.stderr
    assert task_status(c, "c2") == ""
    c.ctr("containers", "delete", "c2", check=False)


def test_log_uri_binary(ctrd, tmp_path):
    check_binary_logger(ctrd, ctrd.run_flags, tmp_path)


def test_log_uri_binary_under_containerd_shim_runc_v2(tmp_path):
    """The same logger under containerd's own shim: the test checks the contract."""
    c = Containerd()
    with c.serving(IMAGE_TAR):
        check_binary_logger(c, ["--runtime", "io.containerd.runc.v2"], tmp_path)


def test_stdin_reaches_the_container(ctrd):
    r = ctrd.ctr("run", *ctrd.run_flags, "--rm", ctrd.image, "c1", "sh", "-c", "read x; echo got $x",
                 input=b"hello\n")
    assert (r.returncode, r.stdout) == (0, b"got hello\n"), r.stderr


def test_exec_ps_pause_resume_kill_delete(ctrd):
    run(ctrd, ["-d"], "c1", "sleep", "1000", check=True)
    assert wait_status(ctrd, "c1", "RUNNING") == "RUNNING"
    init = task_pid(ctrd, "c1")

    r = ctrd.ctr("tasks", "exec", "--exec-id", "e1", "c1", "sh", "-c", "echo from exec; exit 4", check=False)
    assert (r.returncode, r.stdout) == (4, b"from exec\n"), r.stderr

    r = ctrd.ctr("tasks", "exec", "--exec-id", "e3", "c1", "sh", "-c", "kill -9 $$", check=False)
    assert r.returncode == 137  # killed by a signal: 128 + 9 (an init could not do this to itself)

    ctrd.ctr("tasks", "exec", "-d", "--exec-id", "e2", "c1", "sleep", "500")
    ps = ctrd.ctr("tasks", "ps", "c1").stdout.decode()
    pids = [int(line.split()[0]) for line in ps.splitlines()[1:]]
    assert init in pids and len(pids) == 2, ps
    assert "e2" in ps  # exec processes carry their exec id

    metrics = ctrd.ctr("tasks", "metrics", "c1").stdout.decode()  # Stats: cgroup v1 metrics
    assert "pids.current" in metrics and "memory.usage_in_bytes" in metrics, metrics
    assert int(metrics.split("pids.current")[1].split()[0]) == 2  # sleep and the detached exec

    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", "--exec-id", "e2", "c1")  # an exec is signalled directly
    deadline = time.monotonic() + 5
    while len(ctrd.ctr("tasks", "ps", "c1").stdout.splitlines()) > 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ctrd.ctr("tasks", "ps", "c1").stdout.splitlines()) == 2  # header and init

    ctrd.ctr("tasks", "pause", "c1")
    assert task_status(ctrd, "c1") == "PAUSED"
    ctrd.ctr("tasks", "resume", "c1")
    assert task_status(ctrd, "c1") == "RUNNING"

    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", "c1")
    assert wait_status(ctrd, "c1", "STOPPED") == "STOPPED"
    r = ctrd.ctr("tasks", "delete", "c1")
    assert b"137" in r.stderr  # ctr warns with the exit code
    assert task_status(ctrd, "c1") == ""
    assert not leaks.mounts_naming(str(ctrd.bundle_dir("c1")))
    assert not ctrd.shim_pids()


def test_oom_is_reported(ctrd):
    """A process killed by the memory cgroup's OOM killer: containerd hears /tasks/oom."""
    events = subprocess.Popen(["ctr", "--address", ctrd.address, "events"], env=ctrd.env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # subscribed before the container starts
        r = run(ctrd, ["--rm", "--memory-limit", str(16 << 20)], "c1", "sh", "-c", "head -c 200m /dev/zero | tail")
        assert r.returncode == 137, r.stderr
        deadline = time.monotonic() + 5
        seen = b""
        os.set_blocking(events.stdout.fileno(), False)
        while b"/tasks/oom" not in seen and time.monotonic() < deadline:
            seen += events.stdout.read() or b""
            time.sleep(0.05)
    finally:
        events.kill()
        events.wait()
    assert b"/tasks/oom" in seen and ctrd.namespace.encode() in seen, seen.decode(errors="replace")


def test_detached_run_then_delete_after_exit(ctrd):
    run(ctrd, ["-d"], "c1", "sh", "-c", "exit 7", check=True)
    assert wait_status(ctrd, "c1", "STOPPED") == "STOPPED"
    r = ctrd.ctr("tasks", "delete", "c1")
    assert b"exit code 7" in r.stderr
    ctrd.ctr("containers", "delete", "c1")
    assert not ctrd.shim_pids()


def in_pty(argv: list[str], env: dict, rows: int = 30, cols: int = 100, timeout: float = 30) -> tuple[int, bytes]:
    """Run argv on a fresh pty of rows x cols (ctr -t needs a terminal); its exit code and output."""
    import fcntl
    import struct
    import termios

    pid, master = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvpe(argv[0], argv, env)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_terminal(ctrd):
    """`ctr run -t` on a 30x100 pty: the container sees a tty of that size (ResizePty)."""
    ctr = ["ctr", "--address", ctrd.address, "--namespace", ctrd.namespace]
    # ctr resizes after Start: give it a moment before asking
    code, out = in_pty([*ctr, "run", *ctrd.run_flags, "-t", "--rm", ctrd.image, "c1",
                        "sh", "-c", "sleep 1; tty; stty size; exit 5"], ctrd.env)
    assert code == 5, out
    assert b"/dev/pts/" in out and b"30 100" in out, out


def test_exec_with_terminal(ctrd):
    run(ctrd, ["-d"], "c1", "sleep", "1000", check=True)
    ctr = ["ctr", "--address", ctrd.address, "--namespace", ctrd.namespace]
    code, out = in_pty([*ctr, "tasks", "exec", "-t", "--exec-id", "e1", "c1",
                        "sh", "-c", "sleep 1; tty; stty size; exit 6"], ctrd.env, rows=20, cols=70)
    assert code == 6, out
    assert b"/dev/pts/" in out and b"20 70" in out, out
    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", "c1")
    assert wait_status(ctrd, "c1", "STOPPED") == "STOPPED"
    ctrd.ctr("tasks", "delete", "c1")


def test_containerd_restart_keeps_the_container(ctrd):
    run(ctrd, ["-d"], "c1", "sleep", "1000", check=True)
    assert wait_status(ctrd, "c1", "RUNNING") == "RUNNING"
    pid = task_pid(ctrd, "c1")
    ctrd.restart()
    assert task_status(ctrd, "c1") == "RUNNING"
    os.kill(pid, 0)  # still alive
    ctrd.ctr("tasks", "kill", "-s", "SIGKILL", "c1")
    assert wait_status(ctrd, "c1", "STOPPED") == "STOPPED"
    r = ctrd.ctr("tasks", "delete", "c1")
    assert b"137" in r.stderr


def test_shim_killed_leaves_nothing(ctrd):
    run(ctrd, ["-d"], "c1", "sleep", "1000", check=True)
    assert wait_status(ctrd, "c1", "RUNNING") == "RUNNING"
    pid = task_pid(ctrd, "c1")
    (shim,) = ctrd.shim_pids()
    os.kill(shim, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while task_status(ctrd, "c1") not in ("STOPPED", "") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert task_status(ctrd, "c1") in ("STOPPED", "")
    # containerd's clean-up (`shim delete`) runs in the background: give it time to kill
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists()
    ctrd.ctr("tasks", "delete", "c1", check=False)
    ctrd.ctr("containers", "delete", "c1")
    assert not leaks.mounts_naming(str(ctrd.bundle_dir("c1")))
    assert not list(Path(leaks.CGROUP_ROOT).glob(f"*/{ctrd.namespace}/c1"))
    assert not leaks.processes_naming(ctrd.namespace)
