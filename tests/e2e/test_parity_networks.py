"""Networks as compose needs them, matched with docker 20.10: names on every network a container is on
(and only there), the embedded resolver after `network connect`, --link, `network create -o`.

The daemon and the per-test clean-up are test_networks.py's (its fixtures, imported)."""

import json

from tests.e2e import test_networks as base
from tests.e2e.test_networks import httpd, uniq

pytestmark = base.pytestmark
daemon, d = base.daemon, base.d  # the fixtures, under their names here


def test_a_container_on_two_networks_resolves_names_on_both_and_no_other(d):
    one, two, a, b, c = uniq("one"), uniq("two"), uniq("a"), uniq("b"), uniq("c")
    d.pyctl("network", "create", one)
    d.pyctl("network", "create", two)
    httpd(d, a, "--network", one)
    httpd(d, b, "--network", two, "--network-alias", "bsvc")
    d.pyctl("run", "-d", "--name", c, "--network", one, "busybox", "sleep", "60")
    d.pyctl("network", "connect", two, c)
    r = d.pyctl("exec", c, "sh", "-c", f"wget -qO- http://{a}/; wget -qO- http://{b}/; wget -qO- http://bsvc/")
    assert r.stdout.split() == [a, b, b], r.stdout + r.stderr
    # a container on `one` only: b (on `two`) is not a name it can resolve, though the responder asked knows it
    r = d.pyctl("run", "--rm", "--network", one, "busybox", "nslookup", b, check=False)
    assert r.returncode != 0, r.stdout
    r = d.pyctl("run", "--rm", "--network", one, "busybox", "nslookup", a)
    assert r.returncode == 0


def test_connect_of_a_default_bridge_container_switches_it_to_the_embedded_resolver(d):
    net, a, c = uniq("net"), uniq("a"), uniq("c")
    d.pyctl("network", "create", net)
    httpd(d, a, "--network", net)
    d.pyctl("run", "-d", "--name", c, "busybox", "sleep", "60")
    before = d.pyctl("exec", c, "cat", "/etc/resolv.conf").stdout
    d.pyctl("network", "connect", net, c)
    gw = json.loads(d.pyctl("network", "inspect", net).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    resolv = d.pyctl("exec", c, "cat", "/etc/resolv.conf").stdout
    assert resolv.splitlines()[0] == f"nameserver {gw}" and "options ndots:0" in resolv
    assert d.pyctl("exec", c, "wget", "-qO-", f"http://{a}/").stdout.strip() == a
    # once off its last user network, it asks what the default bridge's containers ask again
    d.pyctl("network", "disconnect", net, c)
    assert d.pyctl("exec", c, "cat", "/etc/resolv.conf").stdout == before
