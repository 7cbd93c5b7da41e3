"""Networks end to end through pyctl: the default bridge, user networks with names and aliases,
published ports, container: mode, the network commands, and a host left as it was.

One daemon for the module (its own bridge, nft table and 10.N/16 from the harness); after each test
every container and network the test made is removed and none of its links or rules remain.
"""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness.leaks import leaks
from tests.harness.netclaim import link_exists, nft_table_exists
from tests.harness.pyruncd import Pyruncd

REPO = Path(__file__).resolve().parents[2]
FIXTURE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="networks need root"),
              pytest.mark.skipif(not FIXTURE_TAR.exists(), reason="run `make fixtures` first")]


def _clean(d: Pyruncd) -> None:
    ids = d.pyctl("ps", "-aq", "--no-trunc", check=False).stdout.split()
    if ids:
        d.pyctl("rm", "-f", *ids, check=False)
    nets = [n for n in d.pyctl("network", "ls", "--format", "json", check=False).stdout.splitlines() if n]
    for n in (json.loads(x)["Name"] for x in nets):
        if n not in ("bridge", "host", "none"):
            d.pyctl("network", "rm", n, check=False)


def _net_left(d: Pyruncd, timeout: float = 5.0) -> list[str]:
    """Links and rules of the daemon still there once its background teardown had time to run."""
    deadline = time.monotonic() + timeout
    while True:
        left = [f"link: {n}" for n in d.net.links(d.root / "meta.db")]
        if nft_table_exists(d.net.table):
            left.append(f"nft table: {d.net.table}")
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _named_netns() -> set[str]:
    return set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()


@pytest.fixture(scope="module")
def daemon():
    forward, netns = IP_FORWARD.read_text(), _named_netns()
    d = Pyruncd().start()
    try:
        d.pyctl("load", "-i", str(FIXTURE_TAR))
        yield d
    finally:
        _clean(d)
        d.stop()
    assert IP_FORWARD.read_text() == forward
    assert _named_netns() == netns


@pytest.fixture
def d(daemon):
    before = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split())
    yield daemon
    mine = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split()) - before
    _clean(daemon)
    for cid in mine:
        left = leaks(cid, daemon.root / "containers" / cid)
        assert not left, "\n".join(left)
    assert not _net_left(daemon), _net_left(daemon)


def uniq(prefix: str) -> str:
    return f"{prefix}{os.getpid()}{os.urandom(2).hex()}"


def inspect(d, name: str) -> dict:
    return json.loads(d.pyctl("inspect", name).stdout)[0]


def httpd(d, name: str, *flags: str) -> str:
    """A busybox httpd serving /srv, whose index says the container's name."""
    cid = d.pyctl("run", "-d", "--name", name, *flags, "busybox", "sh", "-c",
                  f"mkdir -p /srv && echo {name} > /srv/index.html && exec httpd -f -p 80 -h /srv").stdout.strip()
    return cid


def fetch(url: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_info_says_bridge_is_the_default(d):
    assert "Network: bridge (default)" in d.pyctl("info").stdout
    out = d.pyctl("network", "ls").stdout.splitlines()
    assert out[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    drivers = {f[1]: f[2] for f in (line.split() for line in out[1:])}
    assert drivers == {"bridge": "bridge", "host": "host", "none": "null"}


def test_user_network_reaches_by_name_and_alias_round_robin(d):
    net, a, b = uniq("net"), uniq("a"), uniq("b")
    d.pyctl("network", "create", net)
    httpd(d, a, "--network", net, "--network-alias", "svc")
    httpd(d, b, "--network", net, "--network-alias", "svc")
    r = d.pyctl("run", "--rm", "--network", net, "busybox", "sh", "-c",
                f"ping -c1 -W3 {a} >/dev/null && echo ping-ok; wget -qO- http://{b}/; "
                "for i in 1 2 3 4; do wget -qO- http://svc/; done")
    lines = r.stdout.split()
    assert lines[:2] == ["ping-ok", b], r.stdout + r.stderr
    assert set(lines[2:]) == {a, b}  # the alias answers with each container in turn
    resolv = d.pyctl("run", "--rm", "--network", net, "busybox", "cat", "/etc/resolv.conf").stdout
    gw = json.loads(d.pyctl("network", "inspect", net).stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    assert f"nameserver {gw}" in resolv
    # names outside the network are not ours: the responder forwards or fails them, never invents them
    r = d.pyctl("run", "--rm", "--network", net, "busybox", "nslookup", "no-such-name.invalid", check=False)
    assert r.returncode != 0


def test_networks_are_isolated_but_published_ports_are_not(d):
    net, a = uniq("net"), uniq("a")
    port = free_port()
    d.pyctl("network", "create", net)
    httpd(d, a, "--network", net, "-p", f"{port}:80")
    ns = inspect(d, a)["NetworkSettings"]["Networks"][net]
    # (nc -w rather than wget -T: this busybox's wget dies of SIGSEGV when -T is given)
    r = d.pyctl("run", "--rm", "busybox", "nc", "-w", "2", ns["IPAddress"], "80", input="", check=False)
    assert r.returncode != 0  # from the default bridge into a user network: dropped
    gw = d.pyctl("run", "--rm", "busybox", "ip", "route").stdout.split()[2]
    r = d.pyctl("run", "--rm", "busybox", "wget", "-qO-", f"http://{gw}:{port}/")
    assert r.stdout.strip() == a


def test_default_bridge_reaches_by_ip_not_by_name(d):
    a = uniq("a")
    httpd(d, a)
    ip = inspect(d, a)["NetworkSettings"]["IPAddress"]
    assert ip.startswith(f"10.{d.net.n}.0.")
    r = d.pyctl("run", "--rm", "busybox", "wget", "-qO-", f"http://{ip}/")
    assert r.stdout.strip() == a
    r = d.pyctl("run", "--rm", "busybox", "ping", "-c1", "-W2", a, check=False)
    assert r.returncode != 0


def test_published_port_serves_the_host_and_goes_at_stop(d):
    a, b = uniq("a"), uniq("b")
    port = free_port()
    httpd(d, a, "-p", f"{port}:80")
    assert fetch(f"http://127.0.0.1:{port}/").strip() == a
    assert d.pyctl("port", a).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert d.pyctl("port", a, "80").stdout == f"0.0.0.0:{port}\n"
    ns = inspect(d, a)["NetworkSettings"]
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    assert f"0.0.0.0:{port}->80/tcp" in d.pyctl("ps").stdout
    # from another container, through the host's address on the bridge
    r = d.pyctl("run", "--rm", "busybox", "wget", "-qO-", f"http://{ns['Gateway']}:{port}/")
    assert r.stdout.strip() == a
    # -p containerPort: a random host port; ip:hostPort:containerPort binds that address only
    httpd(d, b, "-p", "80", "-p", f"127.0.0.1:{free_port()}:80/tcp")
    got = dict(line.split(" -> ") for line in d.pyctl("port", b).stdout.splitlines())
    assert sorted(got) == ["80/tcp"]
    for out in d.pyctl("port", b, "80/tcp").stdout.split():
        assert fetch(f"http://127.0.0.1:{out.rpartition(':')[2]}/").strip() == b
    # a restart keeps the lease and brings the rule back
    d.pyctl("restart", "-t", "1", a)
    assert fetch(f"http://127.0.0.1:{port}/").strip() == a
    assert inspect(d, a)["NetworkSettings"]["IPAddress"] == ns["IPAddress"]
    # the same host port twice is refused, as docker does
    r = d.pyctl("run", "-d", "-p", f"{port}:80", "busybox", "sleep", "9", check=False)
    assert r.returncode != 0 and "port is already allocated" in r.stderr
    d.pyctl("stop", "-t", "1", a)
    deadline = time.monotonic() + 5
    while f"dport {port} " in subprocess.run(["nft", "list", "table", "ip", d.net.table], capture_output=True,
                                             text=True).stdout:
        assert time.monotonic() < deadline, f"the rule for {port} outlived the container"
        time.sleep(0.05)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_container_mode_shares_localhost(d):
    a = uniq("a")
    d.pyctl("run", "-d", "--name", a, "busybox", "sh", "-c",
            f"mkdir -p /srv && echo {a} > /srv/index.html && exec httpd -f -p 127.0.0.1:8080 -h /srv")
    r = d.pyctl("run", "--rm", "--network", f"container:{a}", "busybox", "sh", "-c",
                "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://127.0.0.1:8080/ && break; sleep 0.2; done")
    assert r.stdout.strip() == a
    r = d.pyctl("run", "--rm", "--network", f"container:{a}", "-p", "80:80", "busybox", "true", check=False)
    assert r.returncode == 125 and "conflicting options" in r.stderr


def test_hostname_dns_and_add_host_files(d):
    r = d.pyctl("run", "--rm", "--hostname", "h1", "--dns", "192.0.2.53", "--dns-search", "example.test",
                "--add-host", "foo:192.0.2.7", "busybox", "sh", "-c",
                "hostname; cat /etc/resolv.conf; cat /etc/hosts")
    out = r.stdout
    assert out.startswith("h1\n")
    assert "nameserver 192.0.2.53\n" in out and "search example.test\n" in out
    assert "192.0.2.7\tfoo\n" in out
    assert any(line.endswith("\th1") and line.startswith(f"10.{d.net.n}.0.") for line in out.splitlines())


def test_network_commands_ip_connect_disconnect_rm(d):
    net, a = uniq("net"), uniq("a")
    sub = f"10.{d.net.n}.200.0/24"
    nid = d.pyctl("network", "create", "--subnet", sub, "--gateway", f"10.{d.net.n}.200.254", net).stdout.strip()
    r = d.pyctl("network", "create", "--subnet", sub, uniq("clash"), check=False)
    assert r.returncode == 1 and "overlaps" in r.stderr
    doc = json.loads(d.pyctl("network", "inspect", net).stdout)[0]
    assert (doc["Id"], doc["Driver"], doc["IPAM"]["Config"]) == (
        nid, "bridge", [{"Subnet": sub, "Gateway": f"10.{d.net.n}.200.254"}])
    d.pyctl("run", "-d", "--name", a, "--network", net, "--ip", f"10.{d.net.n}.200.9", "busybox", "sleep", "60")
    settings = inspect(d, a)["NetworkSettings"]["Networks"][net]
    assert settings["IPAddress"] == f"10.{d.net.n}.200.9" and settings["Gateway"] == f"10.{d.net.n}.200.254"
    assert a in json.dumps(json.loads(d.pyctl("network", "inspect", net).stdout)[0]["Containers"])
    r = d.pyctl("network", "rm", net, check=False)
    assert r.returncode == 1 and "has active endpoints" in r.stderr
    r = d.pyctl("run", "--rm", "--ip", f"10.{d.net.n}.0.50", "busybox", "true", check=False)
    assert r.returncode == 125 and "user defined networks only" in r.stderr
    # connect to the default bridge as well: eth1 appears; disconnect: it goes
    d.pyctl("network", "connect", "bridge", a)
    assert "eth1" in d.pyctl("exec", a, "ls", "/sys/class/net").stdout.split()
    d.pyctl("network", "disconnect", "bridge", a)
    assert "eth1" not in d.pyctl("exec", a, "ls", "/sys/class/net").stdout.split()
    d.pyctl("rm", "-f", a)
    assert d.pyctl("network", "rm", net).stdout == f"{net}\n"
    spare = uniq("spare")
    d.pyctl("network", "create", spare)
    assert spare in d.pyctl("network", "prune", "-f").stdout
    r = d.pyctl("network", "rm", "bridge", check=False)
    assert "pre-defined network and cannot be removed" in r.stderr


def test_sigkilled_daemon_keeps_networks_and_ports_then_cleans_up():
    forward = IP_FORWARD.read_text()
    d = Pyruncd().start()
    try:
        d.pyctl("load", "-i", str(FIXTURE_TAR))
        net, a = uniq("net"), uniq("a")
        d.pyctl("network", "create", net)
        port = free_port()
        httpd(d, a, "--network", net, "-p", f"{port}:80")
        assert fetch(f"http://127.0.0.1:{port}/").strip() == a
        d.proc.kill()
        d.proc.wait()
        d.proc = None
        assert fetch(f"http://127.0.0.1:{port}/").strip() == a  # the kernel's side outlives the daemon
        d.start()
        assert fetch(f"http://127.0.0.1:{port}/").strip() == a
        r = d.pyctl("run", "--rm", "--network", net, "busybox", "wget", "-qO-", f"http://{a}/")
        assert r.stdout.strip() == a  # names resolve again: the responder came back
        _clean(d)
        assert not _net_left(d), _net_left(d)
        assert not link_exists(d.net.bridge)
    finally:
        _clean(d)
        d.stop()
    assert IP_FORWARD.read_text() == forward


def test_publish_all_uses_the_images_exposed_ports(d, tmp_path):
    from spec_fixtures import busybox_image, write_docker_archive
    from spec_fixtures.image import Image

    base = busybox_image()
    img = Image(base.layers, {**base.config, "config": {**base.config["config"], "ExposedPorts": {"80/tcp": {}}}})
    tag = f"exposed{os.getpid()}:latest"
    write_docker_archive(str(tmp_path / "img.tar"), {tag: img})
    d.pyctl("load", "-i", str(tmp_path / "img.tar"))
    try:
        a = uniq("a")
        d.pyctl("run", "-d", "--name", a, "-P", tag, "sh", "-c",
                f"mkdir -p /srv && echo {a} > /srv/index.html && exec httpd -f -p 80 -h /srv")
        host = d.pyctl("port", a, "80").stdout.strip()
        assert host.startswith("0.0.0.0:")
        assert fetch(f"http://127.0.0.1:{host.rpartition(':')[2]}/").strip() == a
        assert inspect(d, a)["HostConfig"]["PublishAllPorts"] is True
    finally:
        _clean(d)
        d.pyctl("rmi", tag, check=False)
