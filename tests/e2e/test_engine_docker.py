"""Debian's dockerd 20.10 runs containers through pyrunc (`--add-runtime pyrunc=PATH`,
`docker run --runtime pyrunc`), and through runc the same way, so a failure that shows only with
pyrunc is pyrunc's.

One dockerd without networking serves every test but the port-publishing one, which gets a
second dockerd with its own bridge and iptables rules. Both are started here with their own data
root, exec root, socket and cgroup parent, and leave nothing behind.
"""

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness import leaks
from tests.harness.containerd import VENV_BIN
from tests.harness.dockerd import Dockerd, available, nft_objects, run_in_pty

REPO = Path(__file__).resolve().parents[2]
IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
IMAGE = "busybox:latest"
PYRUNC = str(VENV_BIN / "pyrunc")
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
RUNTIMES = ["pyrunc", "runc"]  # runc is dockerd's built-in default; pyrunc is added

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "dockerd available"),
    pytest.mark.skipif(not IMAGE_TAR.exists(), reason=f"{IMAGE_TAR} missing: run `make fixtures`"),
]

# a container that runs until `docker stop` (busybox sh as pid 1 ignores SIGTERM without a trap)
SERVE = ["sh", "-c", "trap 'echo stopping; exit 0' TERM; echo started; while :; do sleep 0.1; done"]


def _daemon(network: bool):
    d = Dockerd(runtimes={"pyrunc": PYRUNC}, network=network)
    nft_before, forward_before = nft_objects(), Path(IP_FORWARD).read_text()
    try:
        d.start()
        d.load_image(IMAGE_TAR)
        yield d
    finally:
        d.stop()
    left = leaks.leaks(d.token, d.dir)
    assert not left, "\n".join(left)
    assert not Path(d.dir).exists()
    if network:
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        assert d.bridge not in links
        nft_after = nft_objects()
        assert nft_after[0] <= nft_before[0] and nft_after[1] <= nft_before[1], (nft_before, nft_after)
        assert d.bridge not in subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
        assert Path(IP_FORWARD).read_text() == forward_before


@pytest.fixture(scope="module")
def dockerd():
    yield from _daemon(network=False)


@pytest.fixture(scope="module")
def dockerd_net():
    yield from _daemon(network=True)


def inspect(d: Dockerd, name: str) -> dict:
    return json.loads(d.docker("inspect", name).stdout)[0]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_output_and_exit_code(dockerd, runtime):
    r = dockerd.docker("run", "--rm", "--network", "none", "--runtime", runtime, IMAGE,
                       "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    r = dockerd.docker("run", "--rm", "-i", "--network", "none", "--runtime", runtime, IMAGE,
                       "sh", "-c", "read x; echo got $x", input=b"hello\n")
    assert r.stdout == b"got hello\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_detached_logs_exec_stop_rm(dockerd, runtime):
    name = f"serve-{runtime}-{os.getpid()}"
    dockerd.docker("run", "-d", "--name", name, "--network", "none", "--runtime", runtime, IMAGE, *SERVE)
    info = inspect(dockerd, name)
    assert info["HostConfig"]["Runtime"] == runtime
    # the runtime asked for holds the container: dockerd keeps every runtime's state in one root
    binary = PYRUNC if runtime == "pyrunc" else "/usr/sbin/runc"
    state = json.loads(subprocess.run([binary, "--root", str(dockerd.exec_root / "runtime-runc" / "moby"),
                                       "state", info["Id"]], capture_output=True, check=True).stdout)
    assert (state["status"], state["pid"]) == ("running", info["State"]["Pid"])
    deadline = time.monotonic() + 10
    while b"started" not in dockerd.docker("logs", name).stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    assert dockerd.docker("logs", name).stdout == b"started\n"

    r = dockerd.docker("exec", name, "sh", "-c", "echo from exec; echo $$ >&2; exit 4", check=False)
    assert (r.returncode, r.stdout) == (4, b"from exec\n")
    assert r.stderr.strip() != b"1"  # a new process, not the container's init
    r = dockerd.docker("exec", "-i", name, "cat", input=b"piped\n")
    assert r.stdout == b"piped\n"
    top = dockerd.docker("top", name).stdout.decode()
    assert "while :" in top or "sh -c" in top, top

    dockerd.docker("stop", "-t", "10", name)
    state = inspect(dockerd, name)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0), state
    assert dockerd.docker("logs", name).stdout == b"started\nstopping\n"
    dockerd.docker("rm", name)
    assert dockerd.docker("ps", "-aq").stdout == b""


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_interactive_terminal(dockerd, runtime):
    """`docker run -it` on a 30x100 pty: the container's shell has a tty of that size, reads what
    is typed and exits with the status given."""
    argv = dockerd.docker_argv("run", "-it", "--rm", "--network", "none", "--runtime", runtime, IMAGE, "sh")
    code, out = run_in_pty(argv, dockerd.env, steps=[
        (b"# ", b"tty; stty size; echo $((6 * 7))\r"),
        (b"\n42\r", b"exit 5\r"),
    ])
    assert code == 5, out
    assert b"/dev/pts/0" in out and b"30 100" in out and b"42" in out, out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_memory_limit_is_enforced(dockerd, runtime):
    name = f"mem-{runtime}-{os.getpid()}"
    r = dockerd.docker("run", "--name", name, "--memory", "32m", "--memory-swap", "32m", "--network", "none",
                       "--runtime", runtime, IMAGE, "sh", "-c",
                       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
                       check=False)
    try:
        assert r.stdout.splitlines()[0] == str(32 << 20).encode(), r
        assert r.returncode == 137, r  # the kernel's OOM killer, not dd finishing
        state = inspect(dockerd, name)["State"]
        assert state["OOMKilled"] is True, state
    finally:
        dockerd.docker("rm", "-f", name, check=False)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_pids_limit_is_enforced(dockerd, runtime):
    r = dockerd.docker("run", "--rm", "--pids-limit", "8", "--network", "none", "--runtime", runtime, IMAGE,
                       "sh", "-c", "cat /sys/fs/cgroup/pids/pids.max; "
                       "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait; echo done", check=False)
    assert r.stdout.splitlines()[0] == b"8", r
    assert b"can't fork" in r.stderr, r  # sh (1) + 7 sleeps fill the cgroup; the rest fail


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_published_port_answers_on_loopback(dockerd_net, runtime):
    d = dockerd_net
    name = f"web-{runtime}-{os.getpid()}"
    d.docker("run", "-d", "--name", name, "--runtime", runtime, "-p", "127.0.0.1::8080", IMAGE, "sh", "-c",
             f"echo hello from {runtime} > /tmp/index.html; exec httpd -f -p 8080 -h /tmp")
    try:
        port = int(d.docker("port", name, "8080/tcp").stdout.decode().split()[0].rsplit(":", 1)[1])
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as resp:
                    body = resp.read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert body == f"hello from {runtime}\n".encode()
        ip = inspect(d, name)["NetworkSettings"]["IPAddress"]
        assert ip.startswith("172.30."), ip  # on our bridge, not docker0
    finally:
        d.docker("rm", "-f", name)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_tty_pause_update_restart(dockerd, runtime):
    """The rest of what dockerd asks of a runtime: exec with a terminal (a console socket per
    exec), pause/unpause (freezer), update (new cgroup limits on a live container), exec as
    another user, restart, kill with a signal and start again."""
    name = f"misc-{runtime}-{os.getpid()}"
    dockerd.docker("run", "-d", "--name", name, "--network", "none", "--runtime", runtime, IMAGE, "sleep", "1000")
    try:
        code, out = run_in_pty(dockerd.docker_argv("exec", "-it", name, "sh"), dockerd.env, rows=24, cols=90,
                               steps=[(b"# ", b"tty; stty size; exit 6\r")])
        assert code == 6 and b"/dev/pts/0" in out and b"24 90" in out, out

        dockerd.docker("pause", name)
        assert inspect(dockerd, name)["State"]["Status"] == "paused"
        dockerd.docker("unpause", name)
        assert inspect(dockerd, name)["State"]["Status"] == "running"

        dockerd.docker("update", "--memory", "64m", "--memory-swap", "64m", name)
        limit = dockerd.docker("exec", name, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").stdout
        assert limit == f"{64 << 20}\n".encode()
        assert dockerd.docker("exec", "-u", "1000:1000", name, "id", "-u").stdout == b"1000\n"

        pid = inspect(dockerd, name)["State"]["Pid"]
        dockerd.docker("restart", "-t", "1", name)
        state = inspect(dockerd, name)["State"]
        assert state["Status"] == "running" and state["Pid"] != pid, state
        assert not Path(f"/proc/{pid}").exists()

        dockerd.docker("kill", "-s", "KILL", name)
        assert inspect(dockerd, name)["State"]["ExitCode"] == 137
        dockerd.docker("start", name)
        assert dockerd.docker("exec", name, "echo", "again").stdout == b"again\n"
    finally:
        dockerd.docker("rm", "-f", name)


def _sleeper(d: Dockerd, runtime: str, tag: str) -> str:
    name = f"{tag}-{runtime}-{os.getpid()}"
    d.docker("run", "-d", "--name", name, "--network", "none", "--runtime", runtime, IMAGE, "sleep", "1000")
    return name


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_missing_command_is_reported(dockerd, runtime):
    """The runtime's own error (from its log.json) reaches the user, with docker's exit codes."""
    r = dockerd.docker("run", "--rm", "--network", "none", "--runtime", runtime, IMAGE, "/nonexistent", check=False)
    assert r.returncode == 127, r
    assert (f'{runtime} create failed: unable to start container process: exec: "/nonexistent": '
            "stat /nonexistent: no such file or directory").encode() in r.stderr, r.stderr
    name = _sleeper(dockerd, runtime, "missing")
    try:
        r = dockerd.docker("exec", name, "/nonexistent", check=False)
        assert r.returncode == 126, r
        assert b'exec failed: unable to start container process: exec: "/nonexistent": stat' in r.stdout + r.stderr
    finally:
        dockerd.docker("rm", "-f", name)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_non_executable_command_fails_create(dockerd, runtime):
    r = dockerd.docker("run", "--rm", "--network", "none", "--runtime", runtime, IMAGE, "/etc/passwd", check=False)
    assert r.returncode == 126, r
    assert b'exec: "/etc/passwd": permission denied' in r.stderr, r.stderr


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_exec_of_non_executable_is_reported(dockerd, runtime):
    name = _sleeper(dockerd, runtime, "noexec")
    try:
        r = dockerd.docker("exec", name, "/etc/passwd", check=False)
        assert r.returncode == 126, r
        assert (b'exec failed: unable to start container process: exec: "/etc/passwd": permission denied'
                in r.stdout + r.stderr), r
    finally:
        dockerd.docker("rm", "-f", name)


# docker run flags that each become part of the OCI config, and what the container then sees
# (each expected line is what runc gives here)
CONFIG_CASES = {
    "bind-ro": (["-v", "{tmp}:/data:ro"], "cat /data/f; touch /data/x",
                ["hostfile", "touch: /data/x: Read-only file system"]),
    "read-only-tmpfs": (["--read-only", "--tmpfs", "/run:size=1m"],
                        "touch /x; touch /run/y && echo tmpfs-ok; grep ' /run ' /proc/mounts",
                        ["touch: /x: Read-only file system", "tmpfs-ok",
                         "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k 0 0"]),
    "caps": (["--cap-drop", "ALL", "--cap-add", "NET_RAW"], "grep -E 'Cap(Prm|Eff|Bnd|Amb)' /proc/self/status",
             ["CapPrm:\t0000000000002000", "CapEff:\t0000000000002000", "CapBnd:\t0000000000002000",
              "CapAmb:\t0000000000000000"]),
    "process": (["--security-opt", "no-new-privileges", "-u", "1000:1000", "--group-add", "123", "-e", "FOO=bar",
                 "-w", "/tmp", "--hostname", "hh"],
                "id; echo $FOO; pwd; hostname; grep NoNewPrivs /proc/self/status",
                ["uid=1000 gid=1000 groups=123,1000", "bar", "/tmp", "hh", "NoNewPrivs:\t1"]),
    "limits": (["--shm-size", "8m", "--ulimit", "nofile=1000:2000", "--sysctl", "net.ipv4.ip_forward=1"],
               "df -k /dev/shm | tail -1; ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward",
               ["shm                       8192         0      8192   0% /dev/shm", "1000", "2000", "1"]),
    "cpu": (["--cpus", "0.5", "--cpuset-cpus", "0", "--cpu-shares", "512", "--oom-score-adj", "500"],
            "cd /sys/fs/cgroup; cat cpu/cpu.cfs_quota_us cpu/cpu.shares cpuset/cpuset.cpus /proc/self/oom_score_adj",
            ["50000", "512", "0", "500"]),
    "device": (["--device", "/dev/null:/dev/mynull"], "stat -c '%F %t,%T' /dev/mynull; echo x > /dev/mynull && echo ok",
               ["character special file 1,3", "ok"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_run_flags_take_effect(dockerd, runtime, case, tmp_path):
    (tmp_path / "f").write_text("hostfile\n")
    flags, script, want = CONFIG_CASES[case]
    flags = [f.format(tmp=tmp_path) for f in flags]
    r = dockerd.docker("run", "--rm", "--network", "none", "--runtime", runtime, *flags, IMAGE, "sh", "-c",
                       f"exec 2>&1; {script}", check=False)
    assert r.stdout.decode().splitlines() == want, r


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_joins_another_containers_namespaces(dockerd, runtime):
    """--network/--pid/--ipc container:NAME: the runtime joins namespaces given by path."""
    name = f"base-{runtime}-{os.getpid()}"
    dockerd.docker("run", "-d", "--name", name, "--network", "none", "--ipc", "shareable", "--runtime", runtime,
                   IMAGE, "sleep", "1000")
    try:
        show = "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid"
        base = dockerd.docker("exec", name, "sh", "-c", show).stdout
        r = dockerd.docker("run", "--rm", "--runtime", runtime, "--network", f"container:{name}",
                           "--pid", f"container:{name}", "--ipc", f"container:{name}", IMAGE, "sh", "-c",
                           f"{show}; ps -o pid,comm | awk '$2 == \"sleep\" {{print $1}}'")
        lines = r.stdout.splitlines()
        assert lines[:3] == base.splitlines(), (lines, base)
        assert lines[3:] == [b"1"]  # the other container's init, seen as pid 1 of the shared namespace
    finally:
        dockerd.docker("rm", "-f", name)
