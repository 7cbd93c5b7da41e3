"""A private pyruncd with the busybox fixture loaded, and the checks the limits/restart/health tests share.

    with busybox_daemon() as d: ...          # the daemon; every container removed at the end
    with no_leaks(d): ...                    # the containers made inside are removed and left nothing
"""

import contextlib
import json
import os
import signal
import time

from tests.harness.cleanup import pids_naming
from tests.harness.fixtures import busybox_tar
from tests.harness.leaks import leaks
from tests.harness.pyruncd import Pyruncd


@contextlib.contextmanager
def busybox_daemon(*extra_args: str, prepare=None, archives=()):
    """`prepare(d)` runs before the daemon starts (to lay out its root); `archives` are loaded besides
    busybox. At the end every container goes, with its anonymous volumes, and none may have leaked."""
    d = Pyruncd(*extra_args)
    tar = busybox_tar(d.dir)
    if prepare is not None:
        prepare(d)
    d.start()
    try:
        for archive in (tar, *archives):
            d.pyctl("load", "-i", str(archive))
        yield d
    finally:
        if d.proc is not None:
            ids = d.pyctl("ps", "-aq", "--no-trunc", check=False).stdout.split()
            if ids:
                d.pyctl("rm", "-f", "-v", *ids, check=False)
            for cid in ids:
                left = leaks(cid, d.root / "containers" / cid)
                assert not left, "\n".join(left)
        d.stop()
        _no_orphans(str(d.dir))


def _no_orphans(daemon_dir: str, settle: float = 5.0) -> None:
    """With every container gone and the daemon stopped, no process may still work in its dir: a shim
    the daemon lost track of (a start cut off by a cancel or a crash) would serve nothing, forever."""
    deadline = time.monotonic() + settle
    while (orphans := pids_naming(daemon_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in orphans:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not orphans, f"processes left in {daemon_dir}: {orphans}"


def ids(d) -> set[str]:
    return set(d.pyctl("ps", "-aq", "--no-trunc").stdout.split())


@contextlib.contextmanager
def no_leaks(d):
    before = ids(d)
    yield
    mine = ids(d) - before
    if mine:
        d.pyctl("rm", "-f", *mine)
    for cid in mine:
        left = leaks(cid, d.root / "containers" / cid)
        assert not left, "\n".join(left)
        assert not (d.root / "containers" / cid).exists()


def inspect(d, name: str) -> dict:
    return json.loads(d.pyctl("inspect", name).stdout)[0]


def wait_for(pred, timeout: float = 15.0, step: float = 0.05):
    """fixtures.wait_for, returning what `pred` gave (the tests here poll for documents)."""
    deadline = time.monotonic() + timeout
    while not (value := pred()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step)
    return value
