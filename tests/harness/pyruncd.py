"""A private pyruncd for tests: own --root, socket and pyctl config in a temp dir.

Usage:
    with Pyruncd() as d:
        d.pyctl("load", "-i", ".../busybox.tar")           # CompletedProcess; check=True by default
        r = d.pyctl("rmi", "nope", check=False)           # r.returncode, r.stderr

stop() (or leaving the with block) sends SIGTERM, waits, kills if needed, and removes the dir;
stop(remove=False) then start() restarts on the same root.

Each daemon gets networking of its own (tests/harness/netclaim.py): its bridge, nft table and a 10.N.0.0/16
for its default bridge and user networks, so daemons running at once never collide; stop() removes
whatever of it a killed daemon left.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.harness.netclaim import NetClaim

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"


class Pyruncd:
    def __init__(self, *extra_args: str):
        self.dir = Path(tempfile.mkdtemp(prefix="pyruncd-", dir="/tmp"))
        self.root = self.dir / "root"
        self.socket = self.dir / "pyruncd.sock"
        self.host = f"unix://{self.socket}"
        self.log = self.dir / "pyruncd.log"
        self.net = NetClaim()
        self.extra_args = [*self.net.args(), *extra_args]
        self.env = dict(os.environ, PYRUNCD_HOST=self.host, PYCTL_CONFIG=str(self.dir / "pyctl"))
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Pyruncd":
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(VENV_BIN / "pyruncd"), "--root", str(self.root), "-H", self.host,
                                          *self.extra_args], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not self._answers():  # a socket left by a killed daemon exists but does not answer
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pyruncd did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)
        return self

    def _answers(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.socket))
                return True
            except OSError:
                return False

    def pyctl(self, *args: str, check: bool = True, input: bytes | str | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
        text = not isinstance(input, bytes)
        r = subprocess.run([str(VENV_BIN / "pyctl"), *args], env=self.env, capture_output=True, input=input,
                           text=text, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"pyctl {' '.join(args)} -> {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def stop(self, remove: bool = True) -> int | None:
        """SIGTERM and wait (SIGKILL after 15 s); returns the exit status."""
        status = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            status = self.proc.returncode
            self.proc = None
        if remove:
            self.net.release(self.root / "meta.db")
            shutil.rmtree(self.dir, ignore_errors=True)
            # a SIGKILLed daemon cannot remove its cgroup parent itself
            from pyruncd.daemon import remove_cgroup_parent

            remove_cgroup_parent("/pyruncd")
        return status

    def __enter__(self) -> "Pyruncd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
