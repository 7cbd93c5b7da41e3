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

from tests.harness.dockerd import HostFirewall
from tests.harness.podman import ULIMITS, Podman

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
        self._firewall = HostFirewall()
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
        self._firewall.restore()
