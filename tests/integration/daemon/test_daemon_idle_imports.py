"""An idle pyruncd has not imported what only some calls need (issue #17: its idle RSS beside containerd's):
httpx and the registry client (pull, push, login), the image archives (load, save, import), the build
executor and the Dockerfile parser (build, commit, import), importlib.metadata (version, info), the disk
usage (system df). ssl stays: asyncio imports it at its own start.

The daemon is the real one (pyruncd.server.serve over a private root and network), in a process of its own
that prints its sys.modules once it serves and its start's restore has had a second, then stops as on SIGTERM.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.harness.netclaim import NetClaim

_IDLE = """
import asyncio, os, signal, sys
from pyruncd.main import parse_args
from pyruncd.server import serve

async def idle():
    serving = asyncio.ensure_future(serve(parse_args(sys.argv[1:])))
    while signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # serve's handler is set once it answers
        await asyncio.sleep(0.02)
    await asyncio.sleep(1)
    print(" ".join(sys.modules), flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    await serving

asyncio.run(idle())
"""

LAZY = ["httpx", "zstandard", "idna", "pyruncd.registry.client", "pyruncd.images.pull", "pyruncd.images.push",
        "pyruncd.images.archive", "pyruncd.images.commit", "pyruncd.build.executor", "pyruncd.build.dockerfile",
        "pyruncd.committing", "importlib.metadata", "pyruncd.images.usage"]


def test_an_idle_daemon_has_not_imported_what_only_some_calls_need():
    work = Path(tempfile.mkdtemp(prefix="pyruncd-", dir="/tmp"))
    net = NetClaim()
    try:
        r = subprocess.run([sys.executable, "-c", _IDLE, "--root", str(work / "root"), "-H",
                            f"unix://{work / 'pyruncd.sock'}", *net.args()],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-2000:]
        modules = set(r.stdout.split())
        assert "pyruncd.services.images" in modules  # it did serve
        assert [m for m in LAZY if m in modules] == []
    finally:
        net.release(work / "root" / "meta.db")
        shutil.rmtree(work, ignore_errors=True)
