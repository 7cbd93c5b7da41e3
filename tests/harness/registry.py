"""A private Docker registry (Debian's docker-registry) for tests, on 127.0.0.1 and a free port.

Usage:
    with Registry() as reg:                       # anonymous
        reg.host                                  # "127.0.0.1:PORT"
    with Registry(users={"alice": "secret"}) as reg:   # htpasswd basic auth (needs python bcrypt)

Storage, config and log live in a temp dir removed by stop(); the process is killed at stop().
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def available(users: bool = False) -> str:
    """Why this registry cannot run here, or "" if it can."""
    if not os.access(REGISTRY, os.X_OK):
        return "docker-registry is not installed"
    if users:
        try:
            import bcrypt  # noqa: F401
        except ImportError:
            return "python bcrypt is not installed (needed for htpasswd entries)"
    return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, users: dict[str, str] | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="registry-", dir="/tmp"))
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.users = users or {}
        self.log = self.dir / "registry.log"
        self.proc: subprocess.Popen | None = None
        config = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.dir / 'storage'}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: {self.host}",
            f"  secret: test-{os.getpid()}",
        ]
        if self.users:
            import bcrypt

            lines = [f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=4)).decode()}"
                     for u, p in self.users.items()]
            (self.dir / "htpasswd").write_text("\n".join(lines) + "\n")
            config += ["auth:", "  htpasswd:", "    realm: pyrunc-test", f"    path: {self.dir / 'htpasswd'}"]
        self.config = self.dir / "config.yml"
        self.config.write_text("\n".join(config) + "\n")

    def start(self) -> "Registry":
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([REGISTRY, "serve", str(self.config)], stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1)
                return self
            except urllib.error.HTTPError:
                return self  # 401 with auth: it is up
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not answer within 15 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Registry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
