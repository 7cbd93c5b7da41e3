"""Networking of one test daemon, unique on the host: a bridge name, an nft table, a 10.N.0.0/16.

N is claimed with an O_EXCL file under /tmp/pyruncd-test-nets (a claim whose process died is taken
over), skipping any N the host already routes. release() removes what a killed daemon left:
its veths, bridges, nft table, iptables FORWARD chain and ip_forward claim.
"""

import ipaddress
import os
import random
import sqlite3
import subprocess
from pathlib import Path

CLAIMS = Path("/tmp/pyruncd-test-nets")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def nft_table_exists(table: str) -> bool:
    return subprocess.run(["nft", "list", "table", "ip", table], capture_output=True).returncode == 0


class NetClaim:
    def __init__(self):
        from pyruncd.networks.ipam import host_routes

        token = os.urandom(4).hex()
        self.bridge = f"pyt{token}"
        self.table = f"pyruncd_t{token}"
        CLAIMS.mkdir(exist_ok=True)
        routes = host_routes()
        for n in random.sample(range(1, 255), 254):
            net = ipaddress.IPv4Network(f"10.{n}.0.0/16")
            if any(net.overlaps(r) for r in routes):
                continue
            claim = CLAIMS / str(n)
            try:
                fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    if _alive(int(claim.read_text() or 0)):
                        continue
                except (OSError, ValueError):
                    continue
                claim.unlink(missing_ok=True)
                try:
                    fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            self.n, self.claim = n, claim
            break
        else:
            raise RuntimeError("no free 10.N.0.0/16 for a test daemon")
        self.bip = f"10.{self.n}.0.1/24"
        self.pool = f"base=10.{self.n}.0.0/16,size=24"

    def args(self) -> list[str]:
        return ["--bridge", self.bridge, "--bip", self.bip, "--default-address-pool", self.pool,
                "--nft-table", self.table]

    def links(self, db: Path) -> list[str]:
        """The bridges and veths the daemon's database names (that exist now)."""
        names = [self.bridge]
        if db.exists():
            conn = sqlite3.connect(db)
            try:
                names += [r[0] for r in conn.execute("SELECT bridge FROM networks WHERE bridge != ''")]
                names += [r[0] for r in conn.execute("SELECT veth FROM endpoints WHERE veth != ''")]
            except sqlite3.OperationalError:
                pass  # a database of before the networks migration
            finally:
                conn.close()
        return sorted({n for n in names if link_exists(n)})

    def release(self, db: Path) -> None:
        from pyruncd.networks import forward, ipforward

        for name in self.links(db):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
        if nft_table_exists(self.table):
            subprocess.run(["nft", "delete", "table", "ip", self.table], capture_output=True)
        forward.write(forward.chain_name(self.table), [])
        if (ipforward.CLAIMS / self.table).exists():
            ipforward.release(self.table)
        self.claim.unlink(missing_ok=True)
