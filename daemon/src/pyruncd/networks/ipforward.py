"""net.ipv4.ip_forward, shared by every pyruncd on the host: set to 1 while one of them needs it, put back
to what it was when the last lets go. Each daemon holds a claim file named by its key (its nft table).
HostLock, on a file in the claims' directory, also serialises the daemons' iptables changes (forward.py)."""

import fcntl
import os
from pathlib import Path
from typing import TextIO

CLAIMS = Path("/run/pyruncd-ip-forward")
SYSCTL = Path("/proc/sys/net/ipv4/ip_forward")


class HostLock:
    """One pyruncd at a time changes the host state the daemons share."""
    f: TextIO

    def __enter__(self) -> None:
        CLAIMS.mkdir(parents=True, exist_ok=True)
        self.f = open(CLAIMS / ".lock", "w")
        fcntl.flock(self.f, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.f.close()


def _claims() -> list[Path]:
    return [p for p in CLAIMS.iterdir() if not p.name.startswith(".")]


def claim(key: str) -> None:
    with HostLock():
        if not _claims():
            (CLAIMS / ".saved").write_text(SYSCTL.read_text().strip())
        (CLAIMS / key).write_text(str(os.getpid()))
        if SYSCTL.read_text().strip() != "1":
            SYSCTL.write_text("1")


def release(key: str) -> None:
    with HostLock():
        (CLAIMS / key).unlink(missing_ok=True)
        if _claims():
            return
        saved = CLAIMS / ".saved"
        if saved.exists():
            SYSCTL.write_text(saved.read_text().strip())
            saved.unlink()
