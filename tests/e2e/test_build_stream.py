"""pyctl build's context on its way in (issue #15: it streams over the HTTP/2 client and is unpacked as it
arrives): Ctrl-C while the context is still being sent stops the build with nothing left in the daemon; a
context the daemon refuses at its first member ends the call while the client is still sending, in the
daemon's words; a COPY of a streamed context is cached on its content alone.
"""

import io
import os
import signal
import subprocess
import tarfile
import time

import pytest

from tests.harness.build_compare import assert_build_left_nothing
from tests.harness.busybox_daemon import busybox_daemon, wait_for
from tests.harness.pyruncd import VENV_BIN

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)


def test_ctrl_c_while_the_context_is_sent_leaves_nothing(d, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY . /ctx\n")
    with open(ctx / "big", "wb") as f:
        f.truncate(8 << 30)  # sparse: 8 GiB of zeros to send, none on disk
    client = subprocess.Popen([str(VENV_BIN / "pyctl"), "build", "-t", "interrupted", str(ctx)], env=d.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # the daemon is unpacking: the context's first file is in its staging directory
        wait_for(lambda: any((d.root / "tmp").glob("build-*/context/big")) or client.poll() is not None)
        assert client.poll() is None, client.stderr.read()
        client.send_signal(signal.SIGINT)
        assert client.wait(30) == 130
    finally:
        client.kill()
        client.wait()
    wait_for(lambda: list((d.root / "tmp").iterdir()) == [])
    assert d.pyctl("inspect", "interrupted", check=False).returncode != 0


def test_a_refused_context_ends_the_call_while_the_client_sends(d):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        escape = tarfile.TarInfo("../escape")
        escape.size = 1
        archive.addfile(escape, io.BytesIO(b"x"))
        big = tarfile.TarInfo("big")
        big.size = 300 << 20
        archive.addfile(big, io.BytesIO(bytes(big.size)))
    started = time.monotonic()
    r = d.pyctl("build", "-t", "refused", "-", input=data.getvalue(), check=False)
    assert r.returncode == 1
    assert r.stderr.decode().strip().endswith('invalid build context: "../escape" is outside of the context'), r.stderr
    assert time.monotonic() - started < 60
    assert d.pyctl("inspect", "refused", check=False).returncode != 0


def test_a_streamed_copy_is_cached_on_content_not_mtime(d, tmp_path):
    ctx = tmp_path / "ctx"
    (ctx / "data").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY data/ /data/\n")
    (ctx / "data" / "blob").write_bytes(os.urandom(3 << 20))
    first = d.pyctl("build", "-q", str(ctx)).stdout.strip()
    os.utime(ctx / "data" / "blob", (0, 0))
    assert d.pyctl("build", "-q", str(ctx)).stdout.strip() == first
    (ctx / "data" / "blob").write_bytes(os.urandom(3 << 20))
    assert d.pyctl("build", "-q", str(ctx)).stdout.strip() != first
    d.pyctl("image", "prune", "-f")
