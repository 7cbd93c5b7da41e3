"""A private podman (tests/harness/podman.py) whose containers may have networks, for podman-compose.

    with NetworkedPodman() as pm:
        pm.load_image(".../busybox.tar")
        subprocess.run(["podman-compose", *pm.compose_flags(), "up", "-d"], env=pm.env)

podman's networks are netavark's: a bridge per network, iptables(-nft) rules and chains, ip_forward turned
on, an aardvark-dns for the names. Before the first network this harness notes the host's state, and
stop() removes the networks podman still has, then every iptables rule and chain, nft chain and table and
bridge that was not there before, and restores the FORWARD policy and the sysctls (as the networked
Dockerd of tests/harness/dockerd.py does for dockerd's).
"""

import shlex
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from tests.harness.dockerd import IPTABLES, SYSCTLS, _chains, _forward_policy, _rules, nft_objects
from tests.harness.podman import ULIMITS, Podman

_TABLES = ("nat", "filter")
# crun 1.8 refuses this host's hybrid cgroups (/work/shared/peers.md)
RUNC = shutil.which("runc") or "/usr/sbin/runc"


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines() if ": " in line}


class NetworkedPodman(Podman):
    def __init__(self) -> None:
        super().__init__()
        conf = self.dir / "containers.conf"
        # bridges by default (netavark), as podman-compose's networks need; the rest as Podman's
        conf.write_text(conf.read_text().replace('netns = "none"\n', ""))
        self._sysctls = {p: Path(p).read_text() for p in SYSCTLS if Path(p).exists()}
        self._nft_before = nft_objects()
        self._forward_policy = _forward_policy()
        self._chains_before = {t: _chains(t) for t in _TABLES}
        self._rules_before = {t: _rules(t) for t in _TABLES}
        self._links_before = _links()

    def compose_flags(self) -> list[str]:
        """podman-compose's flags for this podman: its global flags and runc, our cgroup parent and ulimits."""
        return ["--podman-args", shlex.join([*self.global_flags, "--runtime", RUNC]),
                "--podman-run-args", shlex.join(["--cgroup-parent", self.cgroup_parent, *ULIMITS])]

    def stop(self) -> None:
        try:
            # the containers, then their networks while podman's state says what they are (netavark tears
            # their rules down); then what Podman removes
            self.podman("rm", "--all", "--force", "--time", "0", check=False, timeout=60)
            self.podman("network", "prune", "--force", check=False, timeout=60)
            super().stop()
        finally:
            self._undo_network()

    def _undo_network(self) -> None:
        for link in _links() - self._links_before:
            if link.startswith("podman"):  # netavark's bridges; the veths went with the containers
                subprocess.run(["ip", "link", "del", link], capture_output=True, check=False)
        for table in _TABLES:
            added = Counter(_rules(table))
            added.subtract(self._rules_before.get(table, []))
            for rule, count in added.items():
                for _ in range(count):
                    subprocess.run([IPTABLES, "-t", table, "-D", *shlex.split(rule)[1:]],
                                   capture_output=True, check=False)
            for chain in _chains(table) - self._chains_before.get(table, set()):
                subprocess.run([IPTABLES, "-t", table, "-F", chain], capture_output=True, check=False)
                subprocess.run([IPTABLES, "-t", table, "-X", chain], capture_output=True, check=False)
        tables, chains, rules = nft_objects()
        for chain in sorted(chains - self._nft_before[1]):
            if chain not in rules:
                subprocess.run(["nft", "delete", "chain", *chain], capture_output=True, check=False)
        tables, chains, _ = nft_objects()
        for table in tables - self._nft_before[0]:
            if not any(c[:2] == table for c in chains):
                subprocess.run(["nft", "delete", "table", *table], capture_output=True, check=False)
        if self._forward_policy and _forward_policy() not in ("", self._forward_policy):
            subprocess.run([IPTABLES, "-P", "FORWARD", self._forward_policy], capture_output=True, check=False)
        for path, value in self._sysctls.items():
            Path(path).write_text(value)
