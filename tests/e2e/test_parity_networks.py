"""Networks as compose needs them, matched with docker 20.10: names on every network a container is on
(and only there), the embedded resolver after `network connect`, --link, `network create -o`.

The daemon and the per-test clean-up are test_networks.py's (its fixtures, imported)."""

import json
import os
from pathlib import Path

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


def test_network_create_opt_names_the_bridge_sets_the_mtu_and_shows_every_option(d):
    net, a, bridge = uniq("net"), uniq("a"), f"pb{os.urandom(3).hex()}"
    d.pyctl("network", "create", "-o", f"com.docker.network.bridge.name={bridge}",
            "--opt", "com.docker.network.driver.mtu=1400", "-o", "com.docker.network.bridge.enable_icc=true", net)
    doc = json.loads(d.pyctl("network", "inspect", net).stdout)[0]
    assert doc["Options"] == {"com.docker.network.bridge.name": bridge, "com.docker.network.driver.mtu": "1400",
                              "com.docker.network.bridge.enable_icc": "true"}
    d.pyctl("run", "-d", "--name", a, "--network", net, "busybox", "sleep", "60")
    assert d.pyctl("exec", a, "cat", "/sys/class/net/eth0/mtu").stdout.strip() == "1400"
    assert Path(f"/sys/class/net/{bridge}/mtu").read_text().strip() == "1400"
    # what dockerd's bridge driver cannot parse is refused in its words
    r = d.pyctl("network", "create", "-o", "com.docker.network.driver.mtu=abc", uniq("bad"), check=False)
    assert r.returncode == 1 and "failed to parse com.docker.network.driver.mtu value: abc" in r.stderr
    r = d.pyctl("network", "create", "-o", f"com.docker.network.bridge.name={bridge}", uniq("bad"), check=False)
    assert r.returncode == 1 and "networks have same bridge name" in r.stderr
    # the default: no options shown, as docker's user networks
    plain = uniq("plain")
    d.pyctl("network", "create", plain)
    assert json.loads(d.pyctl("network", "inspect", plain).stdout)[0]["Options"] == {}


def test_link_on_the_default_bridge_writes_dockers_hosts_line(d):
    db, c = uniq("db"), uniq("c")
    d.pyctl("run", "-d", "--name", db, "busybox", "sleep", "60")
    doc = json.loads(d.pyctl("inspect", db).stdout)[0]
    ip, hostname = doc["NetworkSettings"]["IPAddress"], doc["Config"]["Hostname"]
    d.pyctl("run", "-d", "--name", c, "--link", f"{db}:database", "busybox", "sleep", "60")
    hosts = d.pyctl("exec", c, "cat", "/etc/hosts").stdout
    assert f"{ip}\tdatabase {hostname} {db}\n" in hosts
    assert "ping-ok" in d.pyctl("exec", c, "sh", "-c", "ping -c1 -W3 database >/dev/null && echo ping-ok").stdout
    links = json.loads(d.pyctl("inspect", c).stdout)[0]["HostConfig"]["Links"]
    assert links == [f"/{db}:/{c}/database"]
    r = d.pyctl("run", "--rm", "--link", "nosuch", "busybox", "true", check=False)
    assert r.returncode == 125 and "could not get container for nosuch" in r.stderr


def test_link_and_net_alias_on_a_user_network(d):
    net, db = uniq("net"), uniq("db")
    d.pyctl("network", "create", net)
    httpd(d, db, "--network", net, "--net-alias", "store")
    r = d.pyctl("run", "--rm", "--network", net, "--link", f"{db}:dbalias", "busybox", "sh", "-c",
                "wget -qO- http://dbalias/; wget -qO- http://store/")
    assert r.stdout.split() == [db, db], r.stderr
    # the link's alias is the linking container's alone
    r = d.pyctl("run", "--rm", "--network", net, "busybox", "nslookup", "dbalias", check=False)
    assert r.returncode != 0


def test_network_ls_quiet_in_the_tables_order(d):
    names = [uniq("zz"), uniq("aa"), uniq("mm")]
    for n in names:
        d.pyctl("network", "create", n)
    table = [line.split()[0] for line in d.pyctl("network", "ls").stdout.splitlines()[1:]]
    assert d.pyctl("network", "ls", "-q").stdout.split() == table
    by_name = [line.split()[1] for line in d.pyctl("network", "ls").stdout.splitlines()[1:]]
    assert by_name == sorted(by_name)
