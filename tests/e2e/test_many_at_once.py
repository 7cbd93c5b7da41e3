"""rm, stop, kill, pause and unpause of many containers run together, as the docker CLI's
parallelOperation runs them: each name, or the daemon's error for it, printed in the order given;
exit status 1 if any failed."""

import os
import re
import time

import pytest

from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.fixtures import FIXTURE_TAR

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


def _sleepers(d, count: int) -> list[str]:
    # sleep as the container's pid 1 has no SIGTERM handler: the kernel drops the signal, so stop
    # waits out its timeout and then kills
    return [d.pyctl("run", "-d", "--network", "none", "--name", f"many{n}", "busybox", "sleep", "600").stdout.strip()
            for n in range(count)]


def test_stop_of_many_runs_their_timeouts_together(d):
    names = [f"many{n}" for n in range(3)]
    _sleepers(d, 3)
    try:
        started = time.monotonic()
        r = d.pyctl("stop", "-t", "4", *names)
        elapsed = time.monotonic() - started
        assert r.stdout.splitlines() == names
        # one after the other would be 12 s or more
        assert elapsed < 10, elapsed
    finally:
        d.pyctl("rm", "-f", *names, check=False)


MANY = ("many2", "nosuch", "many0", "many1")
CASES = [("pause", *MANY), ("unpause", *MANY), ("kill", *MANY), ("unpause", "stopped"), ("kill", "stopped"),
         ("kill", "-s", "BOGUS", "stopped"), ("pause", "stopped"), ("rm", "-f", *MANY), ("rm", "-f", "nosuch")]


def _outcomes(run, create) -> list[tuple[int, str, str]]:
    create("--name", "stopped", "busybox", "true")
    for n in range(3):
        create("--name", f"many{n}", "busybox", "sleep", "600")
        run("start", f"many{n}")
    got = []
    for args in CASES:
        r = run(*args)
        out, err = (x.decode() if isinstance(x, bytes) else x for x in (r.stdout, r.stderr))
        got.append((r.returncode, out, re.sub("[0-9a-f]{64}", "ID", err)))
    run("rm", "-f", "stopped")
    return got


def test_names_and_errors_come_in_the_order_given(d):
    got = _outcomes(lambda *a: d.pyctl(*a, check=False), lambda *a: d.pyctl("create", "--network", "none", *a))
    no_such = "Error response from daemon: No such container: nosuch\n"
    assert got == [
        (1, "many2\nmany0\nmany1\n", no_such), (1, "many2\nmany0\nmany1\n", no_such),
        (1, "many2\nmany0\nmany1\n", "Error response from daemon: Cannot kill container: nosuch: " + no_such[28:]),
        (1, "", "Error response from daemon: Container ID is not paused\n"),
        (1, "", "Error response from daemon: Cannot kill container: stopped: Container ID is not running\n"),
        (1, "", "Error response from daemon: Invalid signal: BOGUS\n"),
        (1, "", "Error response from daemon: Container ID is not running\n"),
        (0, "many2\nmany0\nmany1\n", no_such), (0, "", no_such)]
    assert d.pyctl("ps", "-aq").stdout == ""


@pytest.mark.skipif(bool(dockerd_available()), reason=dockerd_available() or "ok")
def test_the_same_as_dockerd(d):
    with Dockerd() as docker:
        docker.load_image(FIXTURE_TAR)
        theirs = _outcomes(lambda *a: docker.docker(*a, check=False),
                           lambda *a: docker.docker("create", "--network", "none", *a))
    ours = _outcomes(lambda *a: d.pyctl(*a, check=False), lambda *a: d.pyctl("create", "--network", "none", *a))
    assert ours == theirs
