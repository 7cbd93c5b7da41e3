"""Our nftables table: masquerade out of each bridge, DNAT for published ports. One table per daemon,
always written whole in one `nft -f -` transaction (add, delete, add again: atomic and idempotent)."""

import shutil
import subprocess
from dataclasses import dataclass

from ..errors import InvalidArgument


@dataclass(frozen=True)
class BridgeNat:
    bridge: str
    subnet: str
    internal: bool = False
    masquerade: bool = True     # com.docker.network.bridge.enable_ip_masquerade


@dataclass(frozen=True)
class Dnat:
    proto: str
    host_ip: str
    host_port: int
    ip: str
    port: int


def render(table: str, bridges: list[BridgeNat], dnats: list[Dnat], replace: bool = True) -> str:
    """The table, replacing whatever is there; with `replace` False, created (and refused if it exists)."""
    ports = []
    for d in dnats:
        match = f"ip daddr {d.host_ip} " if d.host_ip and d.host_ip != "0.0.0.0" else ""
        ports.append(f"    {match}{d.proto} dport {d.host_port} dnat to {d.ip}:{d.port}")
    post = []
    # networks are isolated from each other, as docker's DOCKER-ISOLATION chains do; a published port
    # stays reachable from every network (docker's userland proxy gives the same)
    forward = ["    ct status dnat accept"] if len(bridges) > 1 else []
    for b in bridges:
        others = ", ".join(f'"{o.bridge}"' for o in bridges if o.bridge != b.bridge)
        if others:
            forward.append(f'    iifname "{b.bridge}" oifname {{ {others} }} drop')
        # traffic DNATed into a bridge (from 127.0.0.1 or from a container of that bridge: hairpin)
        # must come back through us, so it leaves with the gateway's address
        post.append(f'    oifname "{b.bridge}" ct status dnat masquerade')
        if b.internal:
            forward.append(f'    iifname "{b.bridge}" oifname != "{b.bridge}" drop')
            forward.append(f'    oifname "{b.bridge}" iifname != "{b.bridge}" drop')
        elif b.masquerade:
            post.append(f'    ip saddr {b.subnet} oifname != "{b.bridge}" masquerade')
    head = [f"table ip {table}", f"delete table ip {table}"] if replace else [f"create table ip {table}"]
    lines = [
        *head,
        f"table ip {table} {{",
        "  chain ports {", *ports, "  }",
        "  chain prerouting {", "    type nat hook prerouting priority -100; policy accept;",
        "    fib daddr type local jump ports", "  }",
        "  chain output {", "    type nat hook output priority -100; policy accept;",
        "    fib daddr type local jump ports", "  }",
        "  chain postrouting {", "    type nat hook postrouting priority 100; policy accept;", *post, "  }",
        "  chain forward {", "    type filter hook forward priority 0; policy accept;", *forward, "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _run(argv: list[str], script: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=script, capture_output=True, text=True)
    except FileNotFoundError:
        raise InvalidArgument("nft: not found: bridge networks need nftables (apt-get install nftables)") from None


def load(script: str) -> None:
    r = _run(["nft", "-f", "-"], script)
    if r.returncode != 0:
        raise InvalidArgument(f"nft: {r.stderr.strip()}")


def create(table: str, bridges: list[BridgeNat], dnats: list[Dnat]) -> None:
    """The table where we know of none (we deleted it, or never wrote it): made without the replacement's
    deletion, which costs the kernel ~14 ms even of a table made empty in the same transaction (the
    whole load ~20 ms, a creation alone ~4 ms). Replaced after all if one is there (a killed daemon's)."""
    if _run(["nft", "-f", "-"], render(table, bridges, dnats, replace=False)).returncode != 0:
        load(render(table, bridges, dnats))


def delete(table: str) -> None:
    load(f"table ip {table}\ndelete table ip {table}\n")


def exists(table: str) -> bool:
    return shutil.which("nft") is not None and _run(["nft", "list", "table", "ip", table]).returncode == 0
