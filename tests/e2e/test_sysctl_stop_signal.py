"""--sysctl, --stop-signal and --stop-timeout end to end, as docker 20.10: a namespaced sysctl set in the
container only, the others refused with docker's (or runc's) words and nothing created, the stop signal a trap
sees, SIGKILL after the container's own timeout, inspect's fields; and compose's sysctls / stop_signal /
stop_grace_period through `pyctl compose up/stop/down`."""

import json
import os
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.harness.busybox_daemon import busybox_daemon, ids
from tests.harness.pyruncd import VENV_BIN

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]

FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
USR1_TRAP = "trap 'echo got USR1; exit 0' USR1; echo ready; while true; do sleep 0.1; done"


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


def inspect(d, cid):
    return json.loads(d.pyctl("inspect", cid).stdout)[0]


def wait_for_log(d, cid, text, timeout=20.0):
    deadline = time.monotonic() + timeout
    while text not in d.pyctl("logs", cid).stdout:
        assert time.monotonic() < deadline, f"no {text!r} in the logs of {cid}"
        time.sleep(0.1)


def test_a_net_sysctl_is_set_in_the_container_only(d):
    host_before = FORWARD.read_text()
    # --network none: on a bridge the daemon itself turns the host's ip_forward on while the bridge is up
    r = d.pyctl("run", "--rm", "--network", "none", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl",
                "kernel.shmmni=1000", "busybox",
                "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni")
    assert r.stdout.split() == ["1", "1000"]
    assert FORWARD.read_text() == host_before


@pytest.mark.parametrize(("args", "error"), [
    (["--sysctl", "kernel.pid_max=1"],
     "invalid argument \"kernel.pid_max=1\" for \"--sysctl\" flag: sysctl 'kernel.pid_max=1' is not whitelisted"),
    (["--sysctl", "net.ipv4.ip_forward"],
     "invalid argument \"net.ipv4.ip_forward\" for \"--sysctl\" flag: sysctl 'net.ipv4.ip_forward' is not "
     "whitelisted"),
    (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
     'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'),
    (["--stop-signal", "SIGFOO"], "Invalid signal: SIGFOO"),
])
def test_refused_with_nothing_created(d, args, error):
    before = ids(d)
    r = d.pyctl("run", *args, "busybox", "true", check=False)
    assert r.returncode == 125, r.stderr
    assert error in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert ids(d) == before


def test_stop_sends_the_stop_signal(d):
    cid = d.pyctl("run", "-d", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c", USR1_TRAP).stdout.strip()
    wait_for_log(d, cid, "ready")
    d.pyctl("stop", cid)
    assert "got USR1" in d.pyctl("logs", cid).stdout
    doc = inspect(d, cid)
    assert doc["State"]["ExitCode"] == 0 and doc["Config"]["StopSignal"] == "SIGUSR1"
    assert "StopTimeout" not in doc["Config"] and "Sysctls" not in doc["HostConfig"]
    d.pyctl("rm", cid)


def test_stop_timeout_kills_after_its_seconds(d):
    # sh as PID 1 ignores SIGTERM: only the SIGKILL after the timeout ends it
    cid = d.pyctl("run", "-d", "--stop-timeout", "1", "--sysctl", "net.core.somaxconn=1000", "busybox", "sh", "-c",
                  "echo ready; while true; do sleep 0.1; done").stdout.strip()
    wait_for_log(d, cid, "ready")
    t0 = time.monotonic()
    d.pyctl("stop", cid)
    took = time.monotonic() - t0
    assert 0.9 < took < 8, took
    doc = inspect(d, cid)
    assert doc["State"]["ExitCode"] == 137
    assert doc["Config"]["StopTimeout"] == 1 and doc["Config"]["StopSignal"] == "SIGTERM"
    assert doc["HostConfig"]["Sysctls"] == {"net.core.somaxconn": "1000"}
    d.pyctl("rm", cid)


def compose(d, cwd, *args):
    r = subprocess.run([str(VENV_BIN / "pyctl"), "compose", *args], cwd=cwd, env=d.env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, f"compose {args}: {r.stdout}\n{r.stderr}"
    return r


def test_compose_sysctls_and_stop_signal(d, tmp_path):
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(f"""
        name: sysx
        services:
          app:
            image: busybox
            command: ["sh", "-c", "cat /proc/sys/net/core/somaxconn; {USR1_TRAP}"]
            sysctls: [net.core.somaxconn=1001]
            stop_signal: SIGUSR1
            stop_grace_period: 3s
          plain:
            image: busybox
            command: ["sh", "-c", "echo ready; while true; do sleep 0.1; done"]
            sysctls: {{kernel.shmmni: 999}}
            stop_grace_period: 1s
    """))
    compose(d, tmp_path, "up", "-d")
    try:
        wait_for_log(d, "sysx-app-1", "ready")
        wait_for_log(d, "sysx-plain-1", "ready")
        app, plain = inspect(d, "sysx-app-1"), inspect(d, "sysx-plain-1")
        assert app["HostConfig"]["Sysctls"] == {"net.core.somaxconn": "1001"}
        assert app["Config"]["StopSignal"] == "SIGUSR1" and app["Config"]["StopTimeout"] == 3
        assert plain["HostConfig"]["Sysctls"] == {"kernel.shmmni": "999"} and plain["Config"]["StopTimeout"] == 1
        assert d.pyctl("logs", "sysx-app-1").stdout.split()[0] == "1001"
        t0 = time.monotonic()
        compose(d, tmp_path, "stop")
        assert time.monotonic() - t0 < 8
        assert "got USR1" in d.pyctl("logs", "sysx-app-1").stdout
        assert inspect(d, "sysx-app-1")["State"]["ExitCode"] == 0
        assert inspect(d, "sysx-plain-1")["State"]["ExitCode"] == 137
    finally:
        compose(d, tmp_path, "down")
    assert not d.pyctl("ps", "-aq", "--filter", "label=com.docker.compose.project=sysx").stdout.strip()
