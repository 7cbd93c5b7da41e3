"""Output written by a container that exits while pyruncd is down reaches its log.

The shim keeps its own end of each output FIFO while unread output waits there, so what the
container wrote after the daemon died (and before it exited) is read when the daemon comes back,
before it records the exit.
"""

import json
import os
import time

import pytest

from tests.harness.fixtures import busybox_tar, wait_for
from tests.harness.leaks import leaks
from tests.harness.pyruncd import Pyruncd

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


def test_output_of_a_container_that_exited_while_the_daemon_was_killed(tmp_path):
    tar = busybox_tar(tmp_path)
    d = Pyruncd().start()
    ids = []
    try:
        d.pyctl("load", "-i", str(tar))
        script = ("echo out1; echo err1 >&2; sleep 3; "
                  "i=2; while [ $i -le 40 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done; exit 7")
        plain = d.pyctl("run", "-d", "busybox", "sh", "-c", script).stdout.strip()
        ids.append(plain)
        tty = d.pyctl("run", "-d", "-t", "busybox", "sh", "-c", script.replace(" >&2", "")).stdout.strip()
        ids.append(tty)
        for cid in ids:
            wait_for(lambda cid=cid: "out1" in d.pyctl("logs", cid).stdout)
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        time.sleep(3.5)  # the rest of the output, and the exit, happen while nobody listens
        d.start()
        for cid in ids:
            wait_for(lambda cid=cid: json.loads(d.pyctl("inspect", cid).stdout)[0]["State"]["Status"] == "exited")
            assert json.loads(d.pyctl("inspect", cid).stdout)[0]["State"]["ExitCode"] == 7
        r = d.pyctl("logs", plain)
        assert r.stdout.split() == [f"out{i}" for i in range(1, 41)]
        assert r.stderr.split() == [f"err{i}" for i in range(1, 41)]
        both = d.pyctl("logs", tty).stdout.split()
        assert both == [f"{s}{i}" for i in range(1, 41) for s in ("out", "err")]
        d.pyctl("rm", *ids)
        for cid in ids:
            left = leaks(cid, d.root / "containers" / cid)
            assert not left, "\n".join(left)
    finally:
        if d.proc is None:
            d.start()
        if ids:
            d.pyctl("rm", "-f", *ids, check=False)
        d.stop()
