"""The `env` fixture of the shim contract tests (tests/integration/shim/shimkit.py has the rest)."""

import hashlib
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.harness.cleanup import kill_trees
from tests.harness.leaks import leaks, processes_naming
from tests.integration.shim.shimkit import RUNC, SHIM, FakeContainerd


@pytest.fixture
def env(tmp_path):
    """(tmp_path, token, fake containerd); afterwards nothing may be left that names the token."""
    if not os.access(SHIM, os.X_OK):
        pytest.skip(f"{SHIM} is not installed")
    token = f"shimt{os.getpid()}{uuid.uuid4().hex[:6]}"
    ctrd = FakeContainerd(str(tmp_path / "events.sock"))
    yield tmp_path, token, ctrd
    ctrd.close()
    _kill_shims(token)
    subprocess.run([RUNC, "--root", f"/run/containerd/runc/{token}", "delete", "--force", token],
                   capture_output=True, check=False)
    subprocess.run(["rm", "-rf", f"/run/containerd/runc/{token}"], check=False)
    left = leaks(token, tmp_path)
    assert not left, "\n".join(left)


def _kill_shims(token: str) -> None:
    """A shim a failed test left serving (a test that failed before Shutdown), and its socket
    (the runc shim's is /run/containerd/s/<sha256 of address/namespace/id>)."""
    def shims():
        return [int(line.split(":")[0]) for line in processes_naming(f"-namespace {token}")
                if "containerd-shim" in line]

    kill_trees(shims(), shims)
    digest = hashlib.sha256(f"/fake/containerd.sock/{token}/{token}".encode()).hexdigest()
    Path(f"/run/containerd/s/{digest}").unlink(missing_ok=True)
