"""pyruncd's networks beside a networked dockerd, whose FORWARD policy is DROP: with br_netfilter
(bridge-nf-call-iptables=1) that policy sees even the frames between two containers of one bridge, so
without pyruncd's accept rules in iptables (networks/forward.py) nothing crosses its bridges. (dockerd
sets DROP only if it turned ip_forward on; when another daemon had, drop rules for our bridge alone at the
end of FORWARD stand in for the policy, so other tests' traffic on this host is left alone.)

One test, in order: dockerd (tests/harness, its own bridge and iptables rules) and then pyruncd start; on a
pyruncd user network two busybox containers talk by address, through a published port (hairpin) and out
to a container of dockerd's bridge, and the host reaches the published port; without our FORWARD jump
the first of those fails (the DROP is real), a daemon restart puts it back once, never twice; when the
containers and the network go, iptables and nft are as they were before pyruncd started.
"""

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness.dockerd import IPTABLES, Dockerd, available
from tests.harness.pyruncd import Pyruncd

REPO = Path(__file__).resolve().parents[2]
FIXTURE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
BRIDGE_NF = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "dockerd available"),
    pytest.mark.skipif(shutil.which("iptables-save") is None, reason="iptables is not installed"),
    pytest.mark.skipif(not FIXTURE_TAR.exists(), reason="run `make fixtures` first"),
]

HTTPD = "mkdir -p /srv && echo {} > /srv/index.html && exec httpd -f -p 80 -h /srv"


def ruleset() -> set[str]:
    """iptables' filter and nat tables and the whole nft ruleset, one line each, counters left out."""
    out = []
    for table in ("filter", "nat"):
        save = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        out += [re.sub(r" \[\d+:\d+\]$", "", line) for line in save.splitlines() if not line.startswith("#")]
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    out += ["nft: " + re.sub(r"counter packets \d+ bytes \d+ ", "", line.strip()) for line in nft.splitlines()]
    return set(out)


def jumps(chain: str) -> int:
    rules = subprocess.run([IPTABLES, "-S", "FORWARD"], capture_output=True, text=True).stdout.splitlines()
    return rules.count(f"-A FORWARD -j {chain}")


def handles(chain: str) -> list[str]:
    """The nft handles of the chain's rules (iptables-nft): new ones each time the daemon rewrites it."""
    out = subprocess.run(["nft", "-a", "list", "chain", "ip", "filter", chain], capture_output=True, text=True)
    return re.findall(r"# handle (\d+)", out.stdout)


def restart(d: Pyruncd, chain: str, timeout: float = 10.0) -> int:
    """The daemon stopped and started again (its containers run on); the FORWARD jumps to `chain` once
    its background take-over has rewritten the chain."""
    before = handles(chain)
    d.stop(remove=False)
    d.start()
    deadline = time.monotonic() + timeout
    while handles(chain) == before:
        assert time.monotonic() < deadline, "the take-over did not rewrite our chain"
        time.sleep(0.05)
    return jumps(chain)


def get(d: Pyruncd, container: str, host: str, port: int = 80, seconds: int = 3) -> str:
    """The page at host:port as fetched from inside `container` ("" if nothing came back). nc -w rather
    than wget -T: this busybox's wget dies of SIGSEGV when -T is given."""
    r = d.pyctl("exec", "-i", container, "nc", "-w", str(seconds), host, str(port),
                input=f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n", check=False)
    return r.stdout.splitlines()[-1].strip() if r.returncode == 0 and r.stdout else ""


@pytest.fixture
def dockerd():
    d = Dockerd(network=True)
    try:
        d.start()
        d.load_image(FIXTURE_TAR)
        yield d
    finally:
        d.stop()


def test_pyruncd_bridges_work_under_dockerds_forward_drop(dockerd):
    if BRIDGE_NF.exists():
        assert BRIDGE_NF.read_text().strip() == "1"  # what dockerd turns on; bridged frames then meet FORWARD
    # dockerd sets DROP only when it turned ip_forward on itself; when another daemon had it on already, the
    # same drop is made for our bridges alone (rules at the end of FORWARD), leaving other tests' traffic be
    policy_drop = "-P FORWARD DROP" in subprocess.run([IPTABLES, "-S", "FORWARD"], capture_output=True,
                                                      text=True).stdout
    emulated: list[list[str]] = []
    dockerd.docker("run", "-d", "--name", "outside", "busybox", "sh", "-c", HTTPD.format("outside"))
    outside = json.loads(dockerd.docker("inspect", "outside").stdout)[0]["NetworkSettings"]["IPAddress"]
    before = ruleset()

    d = Pyruncd().start()
    chain, net, a, b = d.net.table.upper(), f"fwd{os.getpid()}", f"fwd-a-{os.getpid()}", f"fwd-b-{os.getpid()}"
    try:
        d.pyctl("load", "-i", str(FIXTURE_TAR))
        bridge = "br-" + d.pyctl("network", "create", net).stdout.strip()[:12]
        if not policy_drop:
            emulated = [["FORWARD", "-i", bridge, "-j", "DROP"], ["FORWARD", "-o", bridge, "-j", "DROP"]]
            for rule in emulated:
                subprocess.run([IPTABLES, "-A", *rule], check=True)
        d.pyctl("run", "-d", "--name", a, "--network", net, "-p", "80", "busybox", "sh", "-c", HTTPD.format(a))
        d.pyctl("run", "-d", "--name", b, "--network", net, "busybox", "sleep", "300")
        settings = json.loads(d.pyctl("inspect", a).stdout)[0]["NetworkSettings"]
        ip, gateway = settings["Networks"][net]["IPAddress"], settings["Networks"][net]["Gateway"]
        port = int(d.pyctl("port", a, "80").stdout.split(":")[-1])
        assert jumps(chain) == 1

        def talks() -> None:
            assert get(d, b, ip) == a                    # bridged, container to container
            assert get(d, b, gateway, port) == a         # routed back into the bridge: a published port
            assert get(d, b, outside) == "outside"       # out of the bridge, to dockerd's container
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                assert r.read().decode().strip() == a    # the host, through the published port

        talks()
        subprocess.run([IPTABLES, "-D", "FORWARD", "-j", chain], check=True)
        assert get(d, b, ip, seconds=1) == ""            # without our rules, the DROP has it
        assert restart(d, chain) == 1                    # the take-over puts the jump back
        talks()
        assert restart(d, chain) == 1                    # and adds none while it is there
        talks()
        d.pyctl("rm", "-f", a, b)
        d.pyctl("network", "rm", net)
        deadline = time.monotonic() + 10
        while chain in subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "our FORWARD chain outlived the network"
            time.sleep(0.1)
    finally:
        for rule in emulated:
            subprocess.run([IPTABLES, "-D", *rule], check=False)
        if d.proc is not None:  # containers outlive their daemon: a failure must not leave them running
            d.pyctl("rm", "-f", a, b, check=False)
            d.pyctl("network", "rm", net, check=False)
        d.stop()
    after = ruleset()
    ours = (chain, d.net.table, d.net.bridge, bridge)
    changed = sorted(before ^ after)
    assert not [line for line in changed if any(word in line for word in ours)], changed
    # docker's rules and policy are untouched; other lines may differ only by other tests' daemons at work
    assert {line for line in before if "DOCKER" in line or dockerd.bridge in line} <= after
    assert ":FORWARD DROP" in after or not policy_drop
