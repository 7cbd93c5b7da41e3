"""A network claim of the test's own, and a process standing in for a container's init."""

import os
import subprocess
import time

import pytest

from tests.harness.netclaim import NetClaim


@pytest.fixture
def claim(tmp_path):
    c = NetClaim()
    yield c
    c.release(tmp_path / "meta.db")


@pytest.fixture
def sandbox():
    """A process in a netns of its own, standing in for a container's init."""
    p = subprocess.Popen(["unshare", "-n", "sleep", "60"])
    deadline = time.monotonic() + 5
    while os.readlink(f"/proc/{p.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    yield p
    p.kill()
    p.wait()
