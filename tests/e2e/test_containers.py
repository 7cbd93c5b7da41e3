"""pyctl -> pyruncd -> containerd-shim-pyrunc-v2 -> pyrunc (or runc), end to end.

One daemon and one loaded busybox for the module (loading costs more than the tests);
every test checks that what it ran left no mount, cgroup, shim or state behind.
"""

import json
import os
import time
from pathlib import Path

import pytest

from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.fixtures import busybox_tar, wait_for
from tests.harness.leaks import leaks
from tests.harness.pyruncd import Pyruncd

REPO = Path(__file__).resolve().parents[2]
RUNC = "/usr/sbin/runc"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def daemon():
    with busybox_daemon() as d:
        yield d


@pytest.fixture
def d(daemon):
    """The daemon; afterwards: every container this test made is removed and left nothing."""
    before = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split())
    yield daemon
    mine = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split()) - before
    if mine:
        daemon.pyctl("rm", "-f", *mine)
    for cid in mine:
        left = leaks(cid, daemon.root / "containers" / cid)
        assert not left, "\n".join(left)
        assert not (daemon.root / "containers" / cid).exists()
    assert not any((daemon.root / "runtime").glob("*/*")) if (daemon.root / "runtime").exists() else True


def inspect(d, name: str) -> dict:
    return json.loads(d.pyctl("inspect", name).stdout)[0]


def test_run_foreground_exit_code_streams_and_rm(d):
    r = d.pyctl("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert d.pyctl("ps", "-aq").stdout == ""
    assert not any((d.root / "containers").iterdir())


def test_run_errors_are_docker_statuses(d):
    r = d.pyctl("run", "--rm", "busybox", "no-such-command", check=False)
    assert r.returncode == 127, r.stderr
    assert d.pyctl("ps", "-aq").stdout == ""
    r = d.pyctl("run", "--rm", "--pull", "never", "no-such-image", "true", check=False)  # else it is pulled
    assert r.returncode == 125 and "No such image" in r.stderr or "not found" in r.stderr.lower(), r.stderr
    r = d.pyctl("run", "--rm", "--network", "no-such-net", "busybox", "true", check=False)
    assert r.returncode == 125 and "network no-such-net not found" in r.stderr


def test_options_reach_the_process(d, tmp_path):
    envfile = tmp_path / "env"
    envfile.write_text("# comment\nFROM_FILE=yes\n")
    r = d.pyctl("run", "--rm", "-e", "A=1", "--env-file", str(envfile), "-w", "/tmp", "-u", "1000:1000",
                "-h", "box1", "busybox", "sh", "-c", 'echo $A $FROM_FILE $HOSTNAME; pwd; id -u; id -g; hostname')
    assert r.stdout.split("\n")[:5] == ["1 yes box1", "/tmp", "1000", "1000", "box1"]
    r = d.pyctl("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b")
    assert r.stdout == "a b\n"
    r = d.pyctl("run", "--rm", "-u", "nobody", "busybox", "id", "-un")
    assert r.stdout == "nobody\n"


def test_docker_defaults_caps_masked_readonly_and_no_network(d):
    r = d.pyctl("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                "grep CapEff /proc/self/status; cat /proc/kcore | wc -c; (echo x > /proc/sys/kernel/hostname) 2>&1; "
                "ls /sys/class/net; cat /etc/hostname; test -w / && echo rootfs-rw")
    lines = r.stdout.splitlines()
    assert lines[0].split()[1] == "00000000a80425fb"  # docker's 14 default capabilities
    assert lines[1] == "0"
    assert "Read-only file system" in lines[2], lines[2]
    assert lines[3] == "lo"
    assert "rootfs-rw" in lines


def test_network_host_sees_the_host_interfaces(d):
    before = set(os.listdir("/sys/class/net"))
    r = d.pyctl("run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net")
    # bridges and veths of other containers come and go meanwhile: the ones there throughout must show
    steady = before & set(os.listdir("/sys/class/net"))
    assert steady <= set(r.stdout.split()) and len(steady) > 1


def test_detached_lifecycle_ps_logs_exec_stop_rm(d):
    cid = d.pyctl("run", "-d", "--name", f"web{os.getpid()}", "--label", "tier=front", "busybox", "sh", "-c",
                  "trap 'echo bye; exit 0' TERM; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done"
                  ).stdout.strip()
    name = f"web{os.getpid()}"
    assert len(cid) == 64
    ps = [json.loads(line) for line in d.pyctl("ps", "--format", "json").stdout.splitlines()]
    mine = [p for p in ps if p["Names"] == name]
    assert mine and mine[0]["State"] == "running" and mine[0]["Status"].startswith("Up")
    assert mine[0]["Labels"] == "tier=front"
    assert d.pyctl("ps", "-q", "--filter", f"name={name}").stdout.strip() == cid[:12]
    assert d.pyctl("ps", "-q", "--filter", "status=exited", "--filter", f"name={name}").stdout == ""
    pid = int(d.pyctl("inspect", "-f", "{{.State.Pid}}", cid[:8]).stdout)
    assert Path(f"/proc/{pid}").exists()
    wait_for(lambda: "tick3" in d.pyctl("logs", name).stdout)
    lines = d.pyctl("logs", "--tail", "2", "-t", name).stdout.splitlines()
    assert len(lines) == 2 and lines[0][:4].isdigit() and lines[0].endswith(tuple(f"tick{i}" for i in range(100)))
    log = d.root / "containers" / cid / f"{cid}-json.log"
    first = json.loads(log.read_text().splitlines()[0])
    assert first["log"] == "tick0\n" and first["stream"] == "stdout" and first["time"].endswith("Z")
    r = d.pyctl("exec", "-e", "X=2", "-w", "/etc", name, "sh", "-c", "echo $X; pwd; echo oops >&2; exit 5",
                check=False)
    assert (r.returncode, r.stdout, r.stderr) == (5, "2\n/etc\n", "oops\n")
    r = d.pyctl("exec", name, "no-such-command", check=False)
    assert r.returncode in (126, 127), r
    r = d.pyctl("rm", name, check=False)
    assert r.returncode == 1 and "Stop the container" in r.stderr
    start = time.monotonic()
    d.pyctl("stop", name)
    assert time.monotonic() - start < 5  # the trap answers SIGTERM
    st = inspect(d, name)["State"]
    assert (st["Status"], st["ExitCode"], st["Running"]) == ("exited", 0, False)
    assert "bye" in d.pyctl("logs", name).stdout
    assert d.pyctl("wait", name, timeout=30).stdout == "0\n"
    assert "Exited (0)" in d.pyctl("ps", "-a", "--filter", f"name={name}").stdout
    d.pyctl("rm", name)
    assert d.pyctl("inspect", name, check=False).returncode == 1


def test_stop_escalates_to_sigkill_and_kill_sends_signals(d):
    cid = d.pyctl("run", "-d", "busybox", "sleep", "1000").stdout.strip()  # pid 1 ignores SIGTERM
    start = time.monotonic()
    d.pyctl("stop", "-t", "1", cid)
    assert 0.9 < time.monotonic() - start < 5
    assert inspect(d, cid)["State"]["ExitCode"] == 137
    d.pyctl("start", cid)  # a stopped container starts again
    assert inspect(d, cid)["State"]["Status"] == "running"
    d.pyctl("kill", "-s", "USR1", cid)  # pid 1 ignores signals it has no handler for: here it goes on
    assert inspect(d, cid)["State"]["Status"] == "running"
    d.pyctl("kill", "-s", "SIGKILL", cid)
    assert d.pyctl("wait", cid, timeout=30).stdout == "137\n"
    r = d.pyctl("kill", cid, check=False)
    assert r.returncode == 1 and "is not running" in r.stderr


def test_wait_logs_follow_and_create_start(d):
    cid = d.pyctl("create", "busybox", "sh", "-c", "sleep 0.5; echo one; sleep 0.3; echo two; exit 7").stdout.strip()
    assert inspect(d, cid)["State"]["Status"] == "created"
    d.pyctl("start", cid)
    r = d.pyctl("logs", "-f", cid, timeout=30)
    assert r.stdout == "one\ntwo\n"
    assert d.pyctl("wait", cid, timeout=30).stdout == "7\n"
    r = d.pyctl("start", "-a", cid, check=False, timeout=30)  # again, attached: output and exit code
    assert (r.returncode, r.stdout) == (7, "one\ntwo\n")
    cid = d.pyctl("create", "-i", "busybox", "sh", "-c", "read x; echo got $x").stdout.strip()
    r = d.pyctl("start", "-ai", cid, input="hello\n", timeout=30)
    assert r.stdout == "got hello\n"


def test_rm_force_and_id_prefixes(d):
    a = d.pyctl("run", "-d", "busybox", "sleep", "1000").stdout.strip()
    pid = int(d.pyctl("inspect", "-f", "{{.State.Pid}}", a[:12]).stdout)
    d.pyctl("rm", "-f", a[:10])
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    r = d.pyctl("rm", a, check=False)
    assert r.returncode == 1 and "No such container" in r.stderr


def test_unique_names(d):
    name = f"dup{os.getpid()}"
    d.pyctl("create", "--name", name, "busybox", "true")
    r = d.pyctl("create", "--name", name, "busybox", "true", check=False)
    assert r.returncode == 125 and "already in use" in r.stderr


@pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed")
def test_runtime_runc(d):
    r = d.pyctl("run", "--rm", "--runtime", "runc", "busybox", "sh", "-c", "echo via runc; exit 2", check=False)
    assert (r.returncode, r.stdout) == (2, "via runc\n")


def test_sigkilled_daemon_comes_back_to_its_containers(tmp_path):
    tar = busybox_tar(tmp_path)
    d = Pyruncd().start()
    ids = []
    try:
        d.pyctl("load", "-i", str(tar))
        ticker = d.pyctl("run", "-d", "busybox", "sh", "-c",
                         "trap 'exit 0' TERM; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done"
                         ).stdout.strip()
        short = d.pyctl("run", "-d", "busybox", "sh", "-c", "sleep 1; echo done; exit 5").stdout.strip()
        ids = [ticker, short]
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        time.sleep(1.5)  # `short` exits while nobody is listening
        d.start()
        ps = {(j := json.loads(line))["ID"]: j for line in d.pyctl("ps", "-a", "--format", "json").stdout.splitlines()}
        assert ps[ticker[:12]]["State"] == "running"
        wait_for(lambda: inspect(d, short)["State"]["Status"] == "exited")
        assert inspect(d, short)["State"]["ExitCode"] == 5
        # ticks written while the daemon was down waited in the FIFO (the container's own end is
        # O_RDWR): none is missing; `short`'s too, kept by the shim's end after its exit
        assert d.pyctl("logs", short).stdout == "done\n"
        ticks = d.pyctl("logs", ticker).stdout.split()
        assert len(ticks) >= 15 and ticks == [f"tick{i}" for i in range(len(ticks))]
        assert d.pyctl("exec", ticker, "echo", "hi").stdout == "hi\n"
        import subprocess

        follow = subprocess.Popen([str(REPO / ".venv" / "bin" / "pyctl"), "logs", "-f", "--tail", "1", ticker],
                                  env=d.env, stdout=subprocess.PIPE, text=True)
        try:
            first = follow.stdout.readline()
            assert first.startswith("tick") and follow.stdout.readline().startswith("tick")  # live lines
            d.pyctl("stop", ticker)
            follow.wait(10)  # ends with the container
        finally:
            if follow.poll() is None:
                follow.kill()
            follow.communicate()
        assert inspect(d, ticker)["State"]["ExitCode"] == 0
        # and a clean stop (SIGTERM) with a container running comes back to it as well
        again = d.pyctl("run", "-d", "busybox", "sleep", "1000").stdout.strip()
        ids.append(again)
        start = time.monotonic()
        assert d.stop(remove=False) == 0 and time.monotonic() - start < 5
        d.start()
        assert inspect(d, again)["State"]["Status"] == "running"
        d.pyctl("rm", "-f", again)
        d.pyctl("rm", ticker, short)
        for cid in ids:
            left = leaks(cid, d.root / "containers" / cid)
            assert not left, "\n".join(left)
    finally:
        if d.proc is None:
            d.start()
        if ids:
            d.pyctl("rm", "-f", *ids, check=False)
        d.stop()


def _pty_run(d, args: list[str]):
    """pyctl on a fresh pty: (process, master fd)."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    p = subprocess.Popen([str(REPO / ".venv" / "bin" / "pyctl"), *args],
                         stdin=slave, stdout=slave, stderr=slave, env=d.env, start_new_session=True)
    os.close(slave)
    return p, master


def _wait_raw(master: int) -> None:
    """Until pyctl has put its terminal in raw mode (what we type before would be cooked)."""
    import termios

    wait_for(lambda: not termios.tcgetattr(master)[3] & termios.ECHO)
    time.sleep(0.2)  # raw mode is set just before the stream opens


def _read_until(master: int, needle: bytes, timeout: float = 15) -> bytes:
    import select

    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        assert left > 0, f"no {needle!r} in {buf!r}"
        if select.select([master], [], [], left)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            buf += chunk
    return buf


def test_run_it_through_a_pty_resize_and_exit_code(d):
    p, master = _pty_run(d, ["run", "-it", "--rm", "busybox", "sh"])
    try:
        _read_until(master, b"# ")
        os.write(master, b"stty size; tty; echo $TERM\r")
        out = _read_until(master, b"xterm")
        assert b"30 100" in out and b"/dev/pts/" in out
        os.write(master, b"exit 4\r")
        assert p.wait(15) == 4
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_detach_keys_then_attach_and_exec_it(d):
    name = f"tty{os.getpid()}"
    p, master = _pty_run(d, ["run", "-it", "--name", name, "busybox", "sh"])
    try:
        _read_until(master, b"# ")
        os.write(master, b"\x10\x11")  # ctrl-p ctrl-q
        assert p.wait(15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert inspect(d, name)["State"]["Status"] == "running"
    p, master = _pty_run(d, ["exec", "-it", name, "sh", "-c", "tty; exit 6"])
    try:
        assert b"/dev/pts/" in _read_until(master, b"/dev/pts/")
        assert p.wait(15) == 6
    finally:
        os.close(master)
    p, master = _pty_run(d, ["exec", "-it", name, "sh"])  # detaching from an exec leaves it running
    try:
        _wait_raw(master)
        os.write(master, b"echo $$ > /tmp/exec.pid\r")
        wait_for(lambda: d.pyctl("exec", name, "cat", "/tmp/exec.pid", check=False).returncode == 0)
        os.write(master, b"\x10\x11")
        assert p.wait(15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
    assert d.pyctl("exec", name, "sh", "-c", "kill -0 $(cat /tmp/exec.pid) && echo alive").stdout == "alive\n"
    p, master = _pty_run(d, ["attach", name])
    try:
        _wait_raw(master)
        os.write(master, b"echo $((6*7))\r")
        _read_until(master, b"42")
        os.write(master, b"exit 9\r")
        assert p.wait(15) == 9
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_interactive_without_tty_streams_stdin(d):
    r = d.pyctl("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo end", input="line1\nline2\n", timeout=30)
    assert r.stdout == "line1\nline2\nend\n"
    cid = d.pyctl("run", "-d", "busybox", "sleep", "100").stdout.strip()
    r = d.pyctl("exec", "-i", cid, "sh", "-c", "wc -l", input="a\nb\nc\n", timeout=30)
    assert r.stdout.strip() == "3"


def test_pause_top_rename_restart_events_prune_and_rmi_in_use(d):
    import subprocess

    name = f"ops{os.getpid()}"
    events = subprocess.Popen([str(REPO / ".venv" / "bin" / "pyctl"), "events", "--format", "json"], env=d.env,
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)  # subscribed (docker's events start from now too)
    try:
        cid = d.pyctl("run", "-d", "--name", name, "busybox", "sh", "-c",
                      "trap 'exit 0' TERM; while true; do sleep 0.1; done").stdout.strip()
        d.pyctl("pause", name)
        assert inspect(d, name)["State"]["Status"] == "paused"
        assert "(Paused)" in d.pyctl("ps", "--filter", f"name={name}").stdout
        freezer = Path(f"/sys/fs/cgroup/freezer/pyruncd/{cid}/freezer.state")
        if freezer.exists():
            assert freezer.read_text().strip() == "FROZEN"
        d.pyctl("unpause", name)
        top = d.pyctl("top", name).stdout.splitlines()
        assert top[0].split()[:3] == ["UID", "PID", "PPID"] and any("trap" in line or "sh -c" in line for line in top[1:])
        d.pyctl("rename", name, name + "b")
        assert inspect(d, cid)["Name"] == f"/{name}b"
        r = d.pyctl("rmi", "busybox", check=False)
        assert r.returncode == 1 and "is using its referenced image" in r.stderr
        pid = inspect(d, cid)["State"]["Pid"]
        d.pyctl("restart", "-t", "5", name + "b")
        assert inspect(d, cid)["State"]["Pid"] not in (0, pid)
        d.pyctl("stop", cid)
        out = d.pyctl("container", "prune", "-f").stdout
        assert cid in out and "Total reclaimed space" in out
        assert d.pyctl("ps", "-aq", "--filter", f"id={cid}").stdout == ""
        lines = []
        while not lines or json.loads(lines[-1])["Action"] != "destroy":
            lines.append(events.stdout.readline())
    finally:
        events.terminate()
        events.communicate(timeout=10)
    actions = [(e["Action"], e["id"]) for e in map(json.loads, lines)]
    assert [a for a, i in actions if i == cid] == ["create", "start", "pause", "unpause", "rename", "die", "stop",
                                                   "start", "die", "stop", "destroy"]


def test_docker_default_seccomp_profile(d):
    # docker's profile refuses unshare of a user namespace without CAP_SYS_ADMIN: EPERM, not ENOSYS
    r = d.pyctl("run", "--rm", "busybox", "sh", "-c", "grep Seccomp: /proc/self/status; unshare -U true; echo $?",
                check=False)
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["Seccomp:", "2"], r
    assert lines[1] != "0", r


def test_cp_both_ways_running_and_stopped_stays_inside_the_rootfs(d, tmp_path):
    cid = d.pyctl("run", "-d", "busybox", "sh", "-c", "echo hi > /data.txt; mkdir /dir; echo x > /dir/a; "
                  "ln -s / /escape; sleep 1000").stdout.strip()
    wait_for(lambda: d.pyctl("exec", cid, "test", "-e", "/escape", check=False).returncode == 0)
    d.pyctl("cp", f"{cid}:/data.txt", str(tmp_path / "got.txt"))
    assert (tmp_path / "got.txt").read_text() == "hi\n"
    d.pyctl("cp", f"{cid}:/dir", str(tmp_path))
    assert (tmp_path / "dir" / "a").read_text() == "x\n"
    (tmp_path / "in.txt").write_text("from host\n")
    d.pyctl("cp", str(tmp_path / "in.txt"), f"{cid}:/tmp/")
    d.pyctl("cp", str(tmp_path / "in.txt"), f"{cid}:/renamed.txt")
    assert d.pyctl("exec", cid, "cat", "/tmp/in.txt", "/renamed.txt").stdout == "from host\n" * 2
    # a symlink the container made resolves inside it, never on the host
    marker = f"pyruncd-cp-{os.getpid()}"
    d.pyctl("cp", str(tmp_path / "in.txt"), f"{cid}:/escape/tmp/{marker}")
    assert not Path(f"/tmp/{marker}").exists()
    assert d.pyctl("exec", cid, "cat", f"/tmp/{marker}").stdout == "from host\n"
    r = d.pyctl("cp", f"{cid}:/nope", str(tmp_path / "x"), check=False)
    assert r.returncode == 1 and "Could not find" in r.stderr
    d.pyctl("stop", "-t", "0", cid)
    d.pyctl("cp", str(tmp_path / "in.txt"), f"{cid}:/stopped.txt")
    d.pyctl("cp", f"{cid}:/stopped.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "from host\n"
    assert not (d.root / "containers" / cid / "cp").exists()


def test_foreground_run_proxies_signals(d):
    import signal
    import subprocess

    p = subprocess.Popen([str(REPO / ".venv" / "bin" / "pyctl"), "run", "--rm", "busybox", "sh", "-c",
                          "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done"],
                         env=d.env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 42
        assert p.stdout.read() == "got-term\n"
    finally:
        if p.poll() is None:
            p.kill()
        p.communicate()
