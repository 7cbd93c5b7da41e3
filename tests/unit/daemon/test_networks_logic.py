"""The pure parts of pyruncd.networks: address pools and leases, -p parsing, the nft table's text, DNS answers."""

import asyncio
import ipaddress
import socket

import pytest
from dnslib import RCODE, DNSRecord
from pyruncd.errors import Conflict, InvalidArgument
from pyruncd.networks import dns, ipam, nft
from pyruncd.networks.ports import PortSpec, exposed, parse_publish


def test_pool_parse_and_free_subnet_skips_taken():
    pool = ipam.Pool.parse("base=10.5.0.0/16,size=24")
    assert (str(pool.base), pool.size) == ("10.5.0.0/16", 24)
    taken = [ipaddress.IPv4Network("10.5.0.0/24"), ipaddress.IPv4Network("10.5.1.128/25")]
    assert str(ipam.free_subnet([pool], taken)) == "10.5.2.0/24"
    with pytest.raises(InvalidArgument, match="default-address-pool"):
        ipam.Pool.parse("size=24")
    with pytest.raises(Conflict, match="non-overlapping"):
        ipam.free_subnet([ipam.Pool.parse("base=10.6.0.0/24,size=24")], [ipaddress.IPv4Network("10.0.0.0/8")])


def test_default_pools_are_dockers():
    nets = [str(n) for p in ipam.DEFAULT_POOLS for n in p.base.subnets(new_prefix=p.size)]
    assert nets[:3] == ["172.17.0.0/16", "172.18.0.0/16", "172.19.0.0/16"] and "172.31.0.0/16" in nets
    assert "192.168.240.0/20" in nets


def test_allocate_lowest_free_and_wanted():
    net, gw = ipam.parse_subnet("10.9.0.0/29", "")
    assert str(gw) == "10.9.0.1"
    assert str(ipam.allocate(net, gw, ["10.9.0.2"])) == "10.9.0.3"
    assert str(ipam.allocate(net, gw, [], "10.9.0.6")) == "10.9.0.6"
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate(net, gw, ["10.9.0.5"], "10.9.0.5")
    with pytest.raises(InvalidArgument, match="no configured subnet contains"):
        ipam.allocate(net, gw, [], "10.9.1.5")
    with pytest.raises(Conflict, match="no available IPv4"):
        ipam.allocate(net, gw, [f"10.9.0.{i}" for i in range(2, 7)])
    with pytest.raises(InvalidArgument, match="no matching subnet for gateway"):
        ipam.parse_subnet("10.9.0.0/24", "10.9.1.1")
    assert ipam.mac_for(ipaddress.IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"


def test_host_routes_reads_proc_format(tmp_path):
    f = tmp_path / "route"
    f.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                 "eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\n"
                 "eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n")
    assert ipam.host_routes(f) == [ipaddress.IPv4Network("192.168.0.0/24")]


@pytest.mark.parametrize("text,want", [
    ("80", PortSpec("tcp", 80)),
    ("8080:80", PortSpec("tcp", 80, "", 8080)),
    ("53:53/udp", PortSpec("udp", 53, "", 53)),
    ("127.0.0.1:8080:80/tcp", PortSpec("tcp", 80, "127.0.0.1", 8080)),
    ("127.0.0.1::80", PortSpec("tcp", 80, "127.0.0.1", 0)),
])
def test_parse_publish(text, want):
    assert parse_publish(text) == want


@pytest.mark.parametrize("text,err", [("80/sctp", "invalid proto: sctp"), ("x:80", "invalid hostPort: x"),
                                      ("70000", "invalid containerPort"), ("1.2.3:80:80", "invalid IP address")])
def test_parse_publish_errors(text, err):
    with pytest.raises(InvalidArgument, match=err):
        parse_publish(text)


def test_exposed_ports_of_the_image():
    cfg = {"config": {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}}
    assert exposed(cfg) == [PortSpec("udp", 53), PortSpec("tcp", 80)]
    assert exposed({}) == []


def test_nft_render_is_one_atomic_replacement():
    text = nft.render("t1", [nft.BridgeNat("br0", "10.1.0.0/24"), nft.BridgeNat("br1", "10.2.0.0/24", True)],
                      [nft.Dnat("tcp", "", 8080, "10.1.0.2", 80), nft.Dnat("udp", "127.0.0.1", 53, "10.1.0.3", 53)])
    lines = [line.strip() for line in text.splitlines()]
    assert lines[:3] == ["table ip t1", "delete table ip t1", "table ip t1 {"]
    assert "tcp dport 8080 dnat to 10.1.0.2:80" in lines
    assert "ip daddr 127.0.0.1 udp dport 53 dnat to 10.1.0.3:53" in lines
    assert 'ip saddr 10.1.0.0/24 oifname != "br0" masquerade' in lines
    assert not any("10.2.0.0/24" in line for line in lines)  # internal: no way out
    assert 'iifname "br1" oifname != "br1" drop' in lines
    assert lines.index("ct status dnat accept") < lines.index('iifname "br0" oifname { "br1" } drop')
    created = nft.render("t1", [nft.BridgeNat("br0", "10.1.0.0/24")], [], replace=False).splitlines()
    assert created[:2] == ["create table ip t1", "table ip t1 {"]  # no deletion: refused if the table exists


def _ask(port: int, name: str, qtype: str = "A") -> DNSRecord:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(DNSRecord.question(name, qtype).pack(), ("127.0.0.1", port))
        return DNSRecord.parse(s.recv(4096))


def test_dns_responder_answers_ours_round_robin_and_fails_the_rest():
    names = {"web": ["10.0.0.2"], "svc": ["10.0.0.2", "10.0.0.3"]}

    async def main():
        t = await dns.serve("127.0.0.1", 0, lambda name, client: names.get(name), lambda client: [])
        port = t.get_extra_info("sockname")[1]
        try:
            loop = asyncio.get_running_loop()
            r = await loop.run_in_executor(None, _ask, port, "web")
            assert [str(a.rdata) for a in r.rr] == ["10.0.0.2"]
            first = await loop.run_in_executor(None, _ask, port, "SVC.")
            second = await loop.run_in_executor(None, _ask, port, "svc")
            assert [str(a.rdata) for a in first.rr] == ["10.0.0.2", "10.0.0.3"]
            assert [str(a.rdata) for a in second.rr] == ["10.0.0.3", "10.0.0.2"]
            r = await loop.run_in_executor(None, _ask, port, "web", "AAAA")
            assert (r.header.rcode, r.rr) == (RCODE.NOERROR, [])
            r = await loop.run_in_executor(None, _ask, port, "elsewhere.example")
            assert r.header.rcode == RCODE.SERVFAIL  # no upstream to forward to
        finally:
            t.close()

    asyncio.run(main())
