"""The parts of pyruncd.networks that need no kernel: the --network flags, /etc files, the predefined
networks, port publishing against recorded bindings, and what inspect shows; over a real meta.db."""

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from pyruncd import db
from pyruncd.errors import Conflict, InvalidArgument
from pyruncd.networks import bridge_options, etc, inspect_docs, nft, options
from pyruncd.networks.predefined import ensure_predefined
from pyruncd.networks.publish import bind_ports
from pyruncd.networks.store import Binding, Endpoint, Network, NetworkStore


@dataclass
class Flags:
    network_aliases: list[str] = field(default_factory=list)
    ip: str = ""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    links: list[str] = field(default_factory=list)


@dataclass
class Settings:
    hostname: str
    network: str
    net: dict[str, Any]


@dataclass
class Config:
    settings: Settings


@dataclass
class Container:
    id: str
    status: str
    pid: int
    config: Config


@pytest.fixture
def store(tmp_path):
    conn = db.connect(tmp_path / "meta.db")
    yield NetworkStore(conn)
    conn.close()


def _validate(mode: str, flags: Flags, image_config: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    return options.validate(mode, flags, image_config or {}, resolve_container=lambda text: "c" * 64,
                            network_name=lambda text: {"ab12": "front"}.get(text, text))


def test_validate_resolves_the_mode_and_keeps_the_flags():
    mode, nc = _validate("ab12", Flags(network_aliases=["db"], add_hosts=["h:1.2.3.4", "gw=host-gateway"],
                                       publish=["8080:80"], publish_all=True),
                         {"config": {"ExposedPorts": {"53/udp": {}}}})
    assert mode == "front"
    assert nc["aliases"] == ["db"] and nc["add_hosts"] == ["h:1.2.3.4", "gw:host-gateway"]
    assert [(p["container_port"], p["proto"], p["host_port"]) for p in nc["ports"]] == [(80, "tcp", 8080),
                                                                                      (53, "udp", 0)]
    assert _validate("", Flags())[0] == "bridge"
    assert _validate("container:x", Flags())[0] == "container:" + "c" * 64
    assert _validate("host", Flags(publish=["80"]))[1]["ports"] == []  # dropped, as docker does


@pytest.mark.parametrize("mode, flags, message", [
    ("container:x", Flags(publish=["80"]), "port publishing and the container type network mode"),
    ("container:x", Flags(dns=["1.1.1.1"]), "dns and the network mode"),
    ("bridge", Flags(ip="172.18.0.9"), "user specified IP address is supported on user defined networks only"),
    ("host", Flags(network_aliases=["a"]), "network-scoped alias is supported only"),
    ("front", Flags(add_hosts=["nohost"]), "bad format for add-host"),
    ("front", Flags(add_hosts=["h:not-an-ip"]), "invalid IP address in add-host"),
])
def test_validate_refuses_as_docker(mode, flags, message):
    with pytest.raises(InvalidArgument, match=message):
        _validate(mode, flags)


def test_etc_files_of_a_user_network_point_at_its_responder(tmp_path):
    n = Network("n" * 64, "front", "bridge", "10.7.0.0/24", "10.7.0.1", "br-x")
    etc.write(tmp_path, n, {"add_hosts": ["gw:host-gateway", "h:1.2.3.4"], "dns_search": ["corp"]}, "web",
              "10.7.0.2", host_network=False)
    hosts = (tmp_path / "hosts").read_text()
    assert hosts.startswith(etc.BASE_HOSTS) and hosts.endswith("10.7.0.1\tgw\n1.2.3.4\th\n10.7.0.2\tweb\n")
    assert (tmp_path / "resolv.conf").read_text() == "nameserver 10.7.0.1\nsearch corp\noptions ndots:0\n"


def test_resolv_conf_of_the_default_bridge_takes_dns_or_the_hosts():
    bridge = Network("b" * 64, "bridge", "bridge", "172.18.0.0/16", "172.18.0.1", "pyrunc0")
    assert etc.resolv_conf(bridge, {"dns": ["9.9.9.9"]}).startswith("nameserver 9.9.9.9\n")
    servers = [line.split()[1] for line in etc.resolv_conf(bridge, {}).splitlines() if line.startswith("nameserver")]
    assert servers and not any(s.startswith("127.") or s == "::1" for s in servers)


def test_predefined_networks_are_made_once_and_follow_bip(store):
    ensure_predefined(store, bridge_name="pyrunc9", bip="10.99.0.1/24")
    by_name = {n.name: n for n in store.networks()}
    assert sorted(by_name) == ["bridge", "host", "none"]
    assert (by_name["bridge"].subnet, by_name["bridge"].gateway, by_name["bridge"].bridge) == (
        "10.99.0.0/24", "10.99.0.1", "pyrunc9")
    ensure_predefined(store, bridge_name="pyrunc9", bip="10.98.0.1/24")
    assert len(store.networks()) == 3 and store.resolve("bridge").subnet == "10.98.0.0/24"
    with pytest.raises(InvalidArgument, match="--bip nonsense"):
        ensure_predefined(store, bridge_name="pyrunc9", bip="nonsense")
    store.conn.execute("INSERT INTO containers(id, name, image, image_id, created, config, status) VALUES"
                       " (?,?,?,?,?,?,?)", ("c" * 64, "web", "img", "sha256:x", "now", "{}", "created"))
    store.insert_endpoint(Endpoint("c" * 64, by_name["bridge"].id, "10.98.0.2", "02:42:0a:62:00:02", "e" * 64))
    ensure_predefined(store, bridge_name="pyrunc9", bip="10.97.0.1/24")
    assert store.resolve("bridge").subnet == "10.98.0.0/24"  # a lease holds the addressing


def test_bind_ports_refuses_a_port_another_container_has(store):
    store.conn.execute("INSERT INTO containers(id, name, image, image_id, created, config, status) VALUES"
                       " (?,?,?,?,?,?,?)", ("a" * 64, "a", "img", "sha256:x", "now", "{}", "created"))
    store.insert_binding(Binding("a" * 64, "tcp", 80, "", 18080))
    spec = {"proto": "tcp", "container_port": 81, "host_ip": "127.0.0.1", "host_port": 18080}
    with pytest.raises(Conflict, match="Bind for 127.0.0.1:18080 failed: port is already allocated"):
        bind_ports(store, "a" * 64, [spec])
    bind_ports(store, "a" * 64, [{"proto": "udp", "container_port": 53, "host_ip": "", "host_port": 0}])
    udp = [b for b in store.bindings("a" * 64) if b.proto == "udp"]
    assert len(udp) == 1 and udp[0].host_port > 0


def test_inspect_parts_of_a_stopped_container_show_its_asked_ports_only(store):
    ensure_predefined(store, bridge_name="pyrunc9", bip="10.99.0.1/24")
    rec = Container("c" * 64, "exited", 0, Config(Settings("web", "host", {
        "ports": [{"proto": "tcp", "container_port": 80, "host_ip": "", "host_port": 8080}]})))
    settings, host = inspect_docs.container_parts(store, rec)
    assert settings["Ports"] == {} and settings["SandboxKey"] == ""
    assert settings["Networks"]["host"]["NetworkID"] == store.resolve("host").id
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    doc = inspect_docs.network_doc(store, store.resolve("bridge"))
    assert doc["IPAM"]["Config"] == [{"Subnet": "10.99.0.0/24", "Gateway": "10.99.0.1"}] and doc["Containers"] == {}


@pytest.mark.parametrize(("opts", "error"), [
    ({"com.docker.network.driver.mtu": "abc"},
     'failed to parse com.docker.network.driver.mtu value: abc (strconv.Atoi: parsing "abc": invalid syntax)'),
    ({"com.docker.network.driver.mtu": "-1"}, "invalid MTU number: -1"),
    ({"com.docker.network.bridge.enable_ip_masquerade": "nope"},
     "failed to parse com.docker.network.bridge.enable_ip_masquerade value: nope"),
    ({"com.docker.network.bridge.name": "x" * 16}, "longer than 15 characters"),
    ({"com.docker.network.bridge.name": "br-taken"}, "networks have same bridge name"),
])
def test_bridge_options_refused_as_dockerd_refuses_them(opts, error):
    taken = Network("1" * 64, "other", "bridge", bridge="br-taken")
    with pytest.raises((InvalidArgument, Conflict), match=re.escape(error)):
        bridge_options.check(opts, [taken], "new")


def test_bridge_options_accepted_and_what_they_apply():
    bridge_options.check({"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.enable_icc": "false",
                          "com.example.anything": "kept"}, [], "new")
    n = Network("1" * 64, "n", "bridge", options={"com.docker.network.driver.mtu": "1400",
                                                  "com.docker.network.bridge.enable_ip_masquerade": "false"})
    assert (n.mtu, n.masquerade) == (1400, False)
    script = nft.render("t", [nft.BridgeNat("br-a", "10.9.0.0/24", masquerade=False)], [])
    assert 'ip saddr 10.9.0.0/24 oifname != "br-a" masquerade' not in script
