"""Health checks through pyctl: --health-* flags and the image's HEALTHCHECK, in ps, inspect and events."""

import json
import os
import subprocess

import pytest
from spec_fixtures import busybox_layer, write_docker_archive
from spec_fixtures.image import DEFAULT_ENV, make_image

from tests.harness.busybox_daemon import busybox_daemon, inspect, no_leaks, wait_for
from tests.harness.pyruncd import VENV_BIN

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]
FAST = ["--health-interval", "200ms", "--health-retries", "2"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    with busybox_daemon() as d:
        # an image whose HEALTHCHECK passes once /tmp/ok exists (every 100 ms)
        tar = tmp_path_factory.mktemp("img") / "checked.tar"
        image = make_image([busybox_layer()], config={
            "Env": list(DEFAULT_ENV), "Cmd": ["sleep", "60"],
            "Healthcheck": {"Test": ["CMD", "test", "-f", "/tmp/ok"], "Interval": 100_000_000, "Retries": 1}})
        write_docker_archive(str(tar), {"checked:latest": image})
        d.pyctl("load", "-i", str(tar))
        yield d


@pytest.fixture
def d(daemon):
    with no_leaks(daemon):
        yield daemon


def ps_status(d, cid: str) -> str:
    return next(json.loads(line)["Status"] for line in d.pyctl("ps", "--format", "json").stdout.splitlines()
                if json.loads(line)["ID"] == cid[:12])


def test_failing_check_turns_unhealthy_then_healthy_with_events(d):
    events = subprocess.Popen([str(VENV_BIN / "pyctl"), "events", "--format", "json"], env=d.env,
                              stdout=subprocess.PIPE, text=True)
    try:
        cid = d.pyctl("run", "-d", *FAST, "--health-cmd", "echo probing; test -f /tmp/ok", "busybox",
                      "sleep", "60").stdout.strip()
        assert inspect(d, cid)["State"]["Health"]["Status"] == "starting"
        wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "unhealthy")
        assert ps_status(d, cid).endswith("(unhealthy)")
        health = inspect(d, cid)["State"]["Health"]
        assert health["FailingStreak"] >= 2
        assert health["Log"][-1]["ExitCode"] == 1 and health["Log"][-1]["Output"] == "probing\n"
        d.pyctl("exec", cid, "touch", "/tmp/ok")
        wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "healthy")
        assert ps_status(d, cid).startswith("Up ") and ps_status(d, cid).endswith("(healthy)")
        assert inspect(d, cid)["State"]["Health"]["FailingStreak"] == 0
        check = inspect(d, cid)["Config"]["Healthcheck"]
        assert check == {"Test": ["CMD-SHELL", "echo probing; test -f /tmp/ok"], "Interval": 200_000_000,
                         "Timeout": 30_000_000_000, "StartPeriod": 0, "Retries": 2}
        d.pyctl("rm", "-f", cid)
    finally:
        events.terminate()
        out = events.communicate(timeout=10)[0]
    actions = [e["Action"] for e in map(json.loads, out.splitlines()) if e["id"] == cid]
    assert "health_status: unhealthy" in actions and "health_status: healthy" in actions
    assert actions.index("health_status: unhealthy") < actions.index("health_status: healthy")


def test_a_check_that_overruns_its_timeout_fails_and_is_killed(d):
    cid = d.pyctl("run", "-d", "--health-cmd", "sleep 30", "--health-timeout", "300ms", "--health-interval", "100ms",
                  "--health-retries", "1", "busybox", "sleep", "60").stdout.strip()
    wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "unhealthy")
    last = inspect(d, cid)["State"]["Health"]["Log"][0]
    assert last["ExitCode"] == -1 and "exceeded timeout" in last["Output"]
    # the overrunning probes were killed: only the container's own sleep is left (give the kill a moment)
    wait_for(lambda: d.pyctl("top", cid).stdout.count("sleep 30") == 0, timeout=5)


def test_starting_shows_in_ps_until_the_first_probe(d):
    cid = d.pyctl("run", "-d", "--health-cmd", "true", "--health-interval", "1h", "busybox", "sleep", "60"
                  ).stdout.strip()
    assert ps_status(d, cid).endswith("(health: starting)")


def test_the_image_healthcheck_and_no_healthcheck(d):
    cid = d.pyctl("run", "-d", "checked").stdout.strip()
    assert inspect(d, cid)["Config"]["Healthcheck"]["Test"] == ["CMD", "test", "-f", "/tmp/ok"]
    wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "unhealthy")
    d.pyctl("exec", cid, "touch", "/tmp/ok")
    wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "healthy")
    # a flag replaces one part of the image's check
    other = d.pyctl("create", "--health-retries", "5", "checked").stdout.strip()
    check = inspect(d, other)["Config"]["Healthcheck"]
    assert (check["Retries"], check["Interval"]) == (5, 100_000_000)
    off = d.pyctl("run", "-d", "--no-healthcheck", "checked").stdout.strip()
    doc = inspect(d, off)
    assert "Health" not in doc["State"] and "Healthcheck" not in doc["Config"]
    assert "(" not in ps_status(d, off)


def test_health_starts_again_after_a_restart(d):
    # an interval long beside pyctl's own time, so "starting" can be seen after the start
    cid = d.pyctl("run", "-d", "--health-interval", "1s", "--health-cmd", "test -f /tmp/ok", "busybox", "sleep", "60"
                  ).stdout.strip()
    d.pyctl("exec", cid, "touch", "/tmp/ok")
    wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "healthy")
    d.pyctl("stop", "-t", "0", cid)
    assert inspect(d, cid)["State"]["Health"]["Status"] == "healthy"  # the last state stays, as docker's
    d.pyctl("start", cid)  # /tmp/ok stays in its writable layer
    assert inspect(d, cid)["State"]["Health"]["Status"] == "starting"
    wait_for(lambda: inspect(d, cid)["State"]["Health"]["Status"] == "healthy")
