"""Our bridges in iptables' FORWARD chain, so that another engine's rules there do not drop their traffic.

dockerd sets iptables' FORWARD policy to DROP when it turns ip_forward on; with br_netfilter loaded
(bridge-nf-call-iptables=1) that policy sees even the frames between two containers of one bridge. An
accept in our nft table cannot help: every base chain on the forward hook gets its say, an accept ends
only its own chain and a drop is final (LXD's lxdbr0 and netavark's nftables driver meet the same). So,
as netavark's iptables driver does, the accepts live in iptables itself: one chain per daemon (its nft
table's name, upper case: PYRUNCD) jumped to from the top of FORWARD, accepting what leaves a bridge of
ours and what enters one as a reply or through a published port (docker's rules for its own bridges).
What our nft table drops (between networks, out of an internal one) stays dropped.

The `iptables` on PATH is the one used, as dockerd does: iptables-nft or iptables-legacy, whichever the
host chose. Each change is one `iptables-restore --noflush` transaction, under the lock the daemons share
(HostLock). When the last bridge goes, the chain and its jump go; an iptables-nft `ip filter` table that
is then left with nothing in it (we made it, or whoever did has left) is removed, so that a host which
never used iptables is left as it was: when it holds nothing but ours, that one deletion is the removal
(nf_tables' deletions cost ~15 ms each here, in the kernel)."""

import json
import logging
import subprocess
from typing import Any

from ..errors import InvalidArgument
from .ipforward import HostLock

log = logging.getLogger("pyruncd.networks")

CHAIN_MAX = 28  # iptables' limit on a chain's name


def chain_name(nft_table: str) -> str:
    name = nft_table.upper()
    if len(name) > CHAIN_MAX:
        raise InvalidArgument(f"--nft-table: {nft_table!r} is longer than {CHAIN_MAX} characters "
                              "(it names our iptables chain too)")
    return name


def render(chain: str, bridges: list[str]) -> list[str]:
    """The chain's rules: what leaves each bridge, and replies and DNATed traffic into it."""
    out = []
    for b in bridges:
        out.append(f"-A {chain} -i {b} -j ACCEPT")
        out.append(f"-A {chain} -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        out.append(f"-A {chain} -o {b} -m conntrack --ctstate DNAT -j ACCEPT")
    return out


def _run(argv: list[str], script: str | None = None) -> subprocess.CompletedProcess[str] | None:
    """None when the program is not installed (then there is no iptables rule to get past either)."""
    try:
        return subprocess.run(argv, input=script, capture_output=True, text=True)
    except FileNotFoundError:
        return None


def write(chain: str, bridges: list[str]) -> bool:
    """The chain made to accept `bridges`' traffic; with none, it and its jump removed. False (and a
    warning logged) if iptables refused: networking then works as long as nothing drops there."""
    with HostLock():
        if not bridges and _holds_only(chain):  # nothing but ours in iptables-nft's table: one deletion
            return _delete_filter_table()
        saved = _run(["iptables-save", "-t", "filter"])
        if saved is None:
            return True
        if saved.returncode != 0:
            return _failed("iptables-save", saved.stderr)
        lines = saved.stdout.splitlines()
        exists = any(line.startswith(f":{chain} ") for line in lines)
        jumps = lines.count(f"-A FORWARD -j {chain}")
        if bridges:
            script = [f":{chain} - [0:0]", *render(chain, bridges)] + ([] if jumps else [f"-I FORWARD 1 -j {chain}"])
        elif exists or jumps:
            script = [f"-D FORWARD -j {chain}"] * jumps + ([f"-F {chain}", f"-X {chain}"] if exists else [])
        else:
            return True
        r = _run(["iptables-restore", "-w", "--noflush"], "\n".join(["*filter", *script, "COMMIT", ""]))
        if r is None or r.returncode != 0:
            return _failed("iptables-restore", r.stderr if r else "not found")
        if not bridges and _holds_only(chain):
            return _delete_filter_table()
        return True


def _failed(what: str, stderr: str) -> bool:
    log.warning("iptables FORWARD rules not written", extra={"error": f"{what}: {stderr.strip()}"})
    return False


def _holds_only(chain: str) -> bool:
    """Whether iptables-nft's `table ip filter` exists and holds nothing but `chain`, the jumps to it and
    base chains whose policy is accept (iptables-nft makes the table, with FORWARD alone, for our first
    rule and leaves it when the last goes)."""
    r = _run(["nft", "-j", "list", "table", "ip", "filter"])
    if r is None or r.returncode != 0:
        return False
    for item in json.loads(r.stdout)["nftables"]:
        c, rule = item.get("chain"), item.get("rule")
        if c is not None and (c["name"] == chain or (c.get("hook") and c.get("policy") == "accept")):
            continue
        if rule is not None and (rule["chain"] == chain or _jumps_to(rule["expr"], chain)):
            continue
        if "metainfo" in item or "table" in item:
            continue
        return False
    return True


def _jumps_to(expr: list[dict[str, Any]], chain: str) -> bool:
    return [e for e in expr if "counter" not in e] == [{"jump": {"target": chain}}]


def _delete_filter_table() -> bool:
    r = _run(["nft", "delete", "table", "ip", "filter"])
    return r is not None and (r.returncode == 0 or _failed("nft delete table ip filter", r.stderr))
