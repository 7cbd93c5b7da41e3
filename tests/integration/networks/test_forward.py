"""networks/forward.py against the real iptables and nft, each case in a network namespace of its own (an
empty ruleset, the host's untouched): the chain and its one jump at the top of FORWARD, rewritten whole,
removed with the last bridge, an emptied iptables-nft table removed with it, other rules and policies kept."""

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root"),
              pytest.mark.skipif(shutil.which("iptables-restore") is None, reason="iptables is not installed")]

CASE = """
import json, subprocess, sys
from pyruncd.networks import forward

def state():
    save = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    return {"rules": [l for l in save.splitlines() if l.startswith(("-A", ":"))], "nft": nft.strip()}

out = []
for step in json.loads(sys.argv[1]):
    if step[:1] == ["iptables"]:
        subprocess.run(step, check=True)
    else:
        assert forward.write("PYT", step)
    out.append(state())
print(json.dumps(out))
"""


def run(*steps: list[str]) -> list[dict]:
    """Each step (a bridge list for forward.write, or an iptables command) in a fresh netns; the filter
    table's chains and rules and the nft ruleset after each."""
    r = subprocess.run(["unshare", "-n", sys.executable, "-c", CASE, json.dumps(steps)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


BUILTINS = [":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]


def test_chain_rewritten_whole_with_one_jump_then_removed_with_its_table():
    two, one, again, none = run(["br0", "br1"], ["br1"], ["br1"], [])
    assert two["rules"] == [*BUILTINS, ":PYT - [0:0]", "-A FORWARD -j PYT",
                            "-A PYT -i br0 -j ACCEPT",
                            "-A PYT -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                            "-A PYT -o br0 -m conntrack --ctstate DNAT -j ACCEPT",
                            "-A PYT -i br1 -j ACCEPT",
                            "-A PYT -o br1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                            "-A PYT -o br1 -m conntrack --ctstate DNAT -j ACCEPT"]
    assert one["rules"] == [*BUILTINS, ":PYT - [0:0]", "-A FORWARD -j PYT", "-A PYT -i br1 -j ACCEPT",
                            "-A PYT -o br1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                            "-A PYT -o br1 -m conntrack --ctstate DNAT -j ACCEPT"]
    assert again == one
    assert none["nft"] == ""  # the table iptables-nft made for us went with our last rule


def test_jump_goes_first_and_others_rules_and_policy_stay():
    _, _, ours, gone = run(["iptables", "-A", "FORWARD", "-i", "eth9", "-j", "ACCEPT"],
                           ["iptables", "-P", "FORWARD", "DROP"], ["br0"], [])
    assert ours["rules"][4:6] == ["-A FORWARD -j PYT", "-A FORWARD -i eth9 -j ACCEPT"]
    assert gone["rules"] == [":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
                             "-A FORWARD -i eth9 -j ACCEPT"]


def test_an_emptied_table_with_a_drop_policy_stays():
    *_, gone = run(["iptables", "-P", "FORWARD", "DROP"], ["br0"], [])
    assert "policy drop" in gone["nft"]
