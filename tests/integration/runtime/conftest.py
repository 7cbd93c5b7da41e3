"""Fixtures for the runtime contract tests (tests/harness/runtime.py has the driver)."""

import os
import subprocess
import time

import pytest

from tests.harness.leaks import leaks
from tests.harness.runtime import ROOTFS, RUNTIME, BundleFactory, Runtime, new_token


@pytest.fixture(scope="session", autouse=True)
def _fixture_rootfs():
    """The rootfs is shared by every test: none may leave a mount point (or anything) in it."""
    if not os.path.exists(os.path.join(ROOTFS, "bin", "busybox")):
        pytest.exit(f"fixture rootfs missing at {ROOTFS}: run `make fixtures`", returncode=2)
    before = sorted(os.listdir(ROOTFS))
    yield
    assert sorted(os.listdir(ROOTFS)) == before, "a test wrote into the shared fixture rootfs"


@pytest.fixture
def token():
    return new_token()


@pytest.fixture
def rt(tmp_path, token):
    """The runtime under test, with a private --root; checks for and cleans up leaks after the test."""
    root = tmp_path / "state"
    runtime = Runtime(RUNTIME, str(root), token)
    yield runtime
    left = leaks(token, tmp_path)
    left_ids = runtime.ids() if root.exists() else []
    for cid in left_ids:
        runtime("delete", "--force", cid, check=False)
    _force_clean(token, tmp_path)
    assert not left_ids, f"containers left in --root: {left_ids}"
    assert not left, "leaked:\n" + "\n".join(left)
    if root.exists():
        assert not os.listdir(root), f"state left in {root}: {os.listdir(root)}"


def _force_clean(token, tmp_path):
    """Last resort, so one failing test does not poison the machine for the next."""
    from tests.harness.leaks import cgroup_dirs_naming, mounts_naming, processes_naming

    for line in processes_naming(token, str(tmp_path)):
        try:
            os.kill(int(line.split(":")[0]), 9)
        except ProcessLookupError:
            pass
    time.sleep(0.05)
    for m in reversed(mounts_naming(token, str(tmp_path))):
        subprocess.run(["umount", "-l", m.split()[4]], capture_output=True)
    for d in sorted(cgroup_dirs_naming(token), key=len, reverse=True):
        for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass


@pytest.fixture
def bundle(tmp_path):
    return BundleFactory(tmp_path)
