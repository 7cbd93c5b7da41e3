"""Restart policies through pyctl, also across a SIGKILLed daemon."""

import os
import signal
import time

import pytest

from tests.harness.busybox_daemon import busybox_daemon, inspect, no_leaks, wait_for
from tests.harness.leaks import leaks

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def daemon():
    with busybox_daemon() as d:
        yield d


@pytest.fixture
def d(daemon):
    with no_leaks(daemon):
        yield daemon


def state(d, name: str) -> tuple[int, str]:
    doc = inspect(d, name)
    return doc["RestartCount"], doc["State"]["Status"]


def test_on_failure_2_restarts_exactly_twice(d):
    cid = d.pyctl("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1").stdout.strip()
    wait_for(lambda: state(d, cid) == (2, "exited"))
    time.sleep(1.0)  # the back-off would be 0.4 s: nothing more comes
    assert state(d, cid) == (2, "exited")
    assert d.pyctl("logs", cid).stdout == "run\n" * 3
    doc = inspect(d, cid)
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert doc["State"]["ExitCode"] == 1
    # a start by hand begins the count again, as docker's
    d.pyctl("start", cid)
    wait_for(lambda: state(d, cid) == (2, "exited") and inspect(d, cid)["State"]["StartedAt"] != doc["State"]["StartedAt"])
    assert d.pyctl("logs", cid).stdout == "run\n" * 6


def test_on_failure_leaves_a_clean_exit_alone(d):
    cid = d.pyctl("run", "-d", "--restart", "on-failure", "busybox", "true").stdout.strip()
    d.pyctl("wait", cid)
    time.sleep(0.4)
    assert state(d, cid) == (0, "exited")


def test_always_backs_off_shows_restarting_and_stop_ends_it_for_good(d):
    name = f"always{os.getpid()}"
    d.pyctl("run", "-d", "--name", name, "--restart", "always", "busybox", "sh", "-c", "exit 3")

    def restarting():
        rows = [line for line in d.pyctl("ps").stdout.splitlines() if line.endswith(name)]
        return rows and "Restarting (3)" in rows[0]

    wait_for(restarting, timeout=20)  # back-off 0.1, 0.2, 0.4 ... s: soon it waits longer than it runs
    # it may have started again meanwhile: the back-off grows, so the next wait is longer
    doc = wait_for(lambda: (doc := inspect(d, name))["State"]["Restarting"] and doc)
    assert doc["State"]["Status"] == "restarting" and doc["RestartCount"] >= 1
    r = d.pyctl("rm", name, check=False)  # restarting (or just restarted): refused without -f
    assert r.returncode == 1 and "You cannot remove a" in r.stderr
    d.pyctl("stop", name)
    count = inspect(d, name)["RestartCount"]
    time.sleep(1.5)
    assert state(d, name) == (count, "exited")
    assert "Exited (3)" in d.pyctl("ps", "-a", "--filter", f"name={name}").stdout


def test_stop_of_a_running_always_container_is_not_undone(d):
    cid = d.pyctl("run", "-d", "--restart", "always", "busybox", "sleep", "60").stdout.strip()
    d.pyctl("stop", "-t", "1", cid)
    time.sleep(0.5)
    assert state(d, cid) == (0, "exited")
    # kill is not a stop by hand: the policy brings it back
    d.pyctl("start", cid)
    d.pyctl("kill", cid)
    wait_for(lambda: state(d, cid) == (1, "running"))


def test_a_refused_rm_leaves_the_policy_alone(d):
    cid = d.pyctl("run", "-d", "--restart", "always", "busybox", "sleep", "60").stdout.strip()
    assert d.pyctl("rm", cid, check=False).returncode == 1
    d.pyctl("kill", cid)
    wait_for(lambda: state(d, cid) == (1, "running"))


def test_update_restart_policy_of_a_running_container(d):
    cid = d.pyctl("run", "-d", "busybox", "sleep", "60").stdout.strip()
    d.pyctl("update", "--restart", "unless-stopped", cid)
    assert inspect(d, cid)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    d.pyctl("kill", cid)
    wait_for(lambda: state(d, cid) == (1, "running"))


def test_rm_with_restart_is_refused(d):
    r = d.pyctl("run", "--rm", "--restart", "always", "busybox", "true", check=False)
    assert (r.returncode, r.stderr.strip()) == (125, "Conflicting options: --restart and --rm")
    assert d.pyctl("run", "--rm", "--restart", "no", "busybox", "true").returncode == 0


def _sigkill_and_start(d, down_for: float) -> None:
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.proc = None
    time.sleep(down_for)
    d.start()


def test_policies_after_a_sigkilled_daemon_comes_back():
    with busybox_daemon() as d, no_leaks(d):
        # `short` exits while the daemon is down (not before: that case is the crash-loop test's)
        short = d.pyctl("run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 3; exit 4").stdout.strip()
        stopped_always = d.pyctl("run", "-d", "--restart", "always", "busybox", "sleep", "60").stdout.strip()
        stopped_unless = d.pyctl("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "60").stdout.strip()
        plain = d.pyctl("run", "-d", "busybox", "sh", "-c", "sleep 1; exit 4").stdout.strip()
        d.pyctl("stop", "-t", "0", stopped_always, stopped_unless)
        assert state(d, short) == (0, "running")
        _sigkill_and_start(d, 3.5)  # `short` and `plain` exit while nobody is listening
        # the exit seen at reconnection follows the policy; a daemon restart overrides a stop by hand
        # for `always` only, as docker's
        wait_for(lambda: state(d, short)[0] >= 1)
        # containers come back in the background once the API answers, as docker's do
        wait_for(lambda: state(d, stopped_always) == (0, "running"))
        assert state(d, stopped_unless) == (0, "exited")
        assert state(d, plain) == (0, "exited") and inspect(d, plain)["State"]["ExitCode"] == 4
        assert d.pyctl("exec", stopped_always, "echo", "hi").stdout == "hi\n"


def test_a_crash_loop_survives_a_sigkill_at_any_moment():
    """Killed mid-restart, the daemon finds a shim holding a created task it never recorded: at boot that
    one is discarded and the policy carries on; rm -f leaves nothing."""
    with busybox_daemon() as d, no_leaks(d):
        for delay in (0.12, 0.17, 0.25):  # the first restarts come after 0.1, 0.2, 0.4 s and take ~0.1 s
            cid = d.pyctl("run", "-d", "--restart", "always", "busybox", "sh", "-c", "exit 1").stdout.strip()
            time.sleep(delay)
            _sigkill_and_start(d, 0.3)
            count = state(d, cid)[0]
            wait_for(lambda c=cid, n=count: state(d, c)[0] > n)
            d.pyctl("rm", "-f", cid)
            assert not leaks(cid, d.root / "containers" / cid)
