"""pyruncd.networks against the real kernel, without a daemon: a network's bridge, a veth into a process's
netns, the nft table with a published port, the DNS responder on the gateway, and all of it gone after."""

import asyncio
import json
import os
import socket
import sqlite3
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from dnslib import DNSRecord
from pyruncd import db
from pyruncd.containers.store import Store
from pyruncd.networks import ipforward, links, nft
from pyruncd.networks.manager import NetConfig, Networks

from tests.harness.netclaim import link_exists, nft_table_exists

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netlink and nftables need root")


def _in_ns(pid: int, *cmd: str) -> str:
    return subprocess.run(["nsenter", "-t", str(pid), "-n", *cmd], capture_output=True, text=True, check=True).stdout


def _container(conn: sqlite3.Connection, cid: str, name: str, mode: str, net: dict, pid: int):
    settings = {"hostname": cid[:12], "network": mode, "runtime": "pyrunc", "labels": {}, "net": net}
    conn.execute("INSERT INTO containers(id, name, image, image_id, created, config, status, pid) VALUES"
                 " (?,?,?,?,?,?,?,?)", (cid, name, "busybox", "x", "now", json.dumps({"settings": settings}),
                                         "running", pid))
    return SimpleNamespace(id=cid, status="running", pid=pid,
                           config=SimpleNamespace(settings=SimpleNamespace(**settings)))


def test_attach_publish_resolve_detach(tmp_path, claim, sandbox):
    forward = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    conn = db.connect(tmp_path / "meta.db")
    cfg = NetConfig(bridge=claim.bridge, bip=claim.bip, address_pools=[claim.pool], nft_table=claim.table)
    nets = Networks(conn, tmp_path, cfg, resolve_container=Store(conn).resolve)
    n = nets.create("front")
    assert n.subnet.startswith(f"10.{claim.n}.") and n.bridge == "br-" + n.id[:12]
    opts = SimpleNamespace(network_aliases=["svc"], ip="", dns=[], dns_search=[], add_hosts=[], links=[], publish=["18481:80"],
                           publish_all=False)
    mode, net = nets.validate("front", opts, {})
    rec = _container(conn, "c" * 64, "web", mode, net, sandbox.pid)
    nets.allocate(rec, tmp_path / "etc")
    assert f"nameserver {n.gateway}" in (tmp_path / "etc" / "resolv.conf").read_text()

    async def run():
        await nets.attach_during(rec, asyncio.sleep(0, sandbox.pid))
        try:
            assert link_exists(n.bridge)
            addr = _in_ns(sandbox.pid, "ip", "-4", "-o", "addr", "show", "eth0")
            ep = nets.store.endpoints(container_id=rec.id)[0]
            assert f"inet {ep.ip}/24" in addr
            assert f"default via {n.gateway}" in _in_ns(sandbox.pid, "ip", "route")
            rules = subprocess.run(["nft", "list", "table", "ip", claim.table], capture_output=True, text=True).stdout
            assert f"tcp dport 18481 dnat to {ep.ip}:80" in rules
            assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "1"
            assert Path(f"/proc/sys/net/ipv4/conf/{n.bridge}/route_localnet").read_text().strip() == "1"
            loop = asyncio.get_running_loop()

            def ask(name):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.settimeout(5)
                    s.sendto(DNSRecord.question(name).pack(), (n.gateway, 53))
                    return [str(a.rdata) for a in DNSRecord.parse(s.recv(4096)).rr]

            assert await loop.run_in_executor(None, ask, "web") == [ep.ip]
            assert await loop.run_in_executor(None, ask, "svc") == [ep.ip]
        finally:
            await nets.detach(rec.id)
            await nets.settle()
        assert not link_exists(n.bridge) and not nft_table_exists(claim.table)
        assert not link_exists(ep.veth)
        nets.close()

    asyncio.run(run())
    nets.release(rec.id)
    nets.remove("front")
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == forward
    conn.close()


def test_ip_forward_claims_restore_the_first_value(tmp_path, monkeypatch):
    monkeypatch.setattr(ipforward, "CLAIMS", tmp_path / "claims")
    before = ipforward.SYSCTL.read_text().strip()
    try:
        ipforward.claim("a")
        ipforward.claim("b")
        ipforward.release("a")
        assert ipforward.SYSCTL.read_text().strip() == "1"  # b still needs it
        ipforward.release("b")
        assert ipforward.SYSCTL.read_text().strip() == before
    finally:
        ipforward.SYSCTL.write_text(before)


def test_bridge_is_idempotent_and_deleted(claim):
    links.ensure_bridge(claim.bridge, f"10.{claim.n}.0.1", 24)
    links.ensure_bridge(claim.bridge, f"10.{claim.n}.0.1", 24)
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", claim.bridge], capture_output=True, text=True).stdout
    assert out.count("inet ") == 1
    links.delete(claim.bridge)
    assert not link_exists(claim.bridge)


def test_nft_create_makes_the_table_or_replaces_one_left_there(claim):
    def listed() -> str:
        return subprocess.run(["nft", "list", "table", "ip", claim.table], capture_output=True, text=True).stdout

    bridges = [nft.BridgeNat(claim.bridge, f"10.{claim.n}.0.0/24")]
    try:
        nft.create(claim.table, bridges, [])
        assert f'oifname "{claim.bridge}" ct status dnat masquerade' in listed()
        subprocess.run(["nft", "add", "chain", "ip", claim.table, "left_over"], check=True)
        nft.create(claim.table, bridges, [nft.Dnat("tcp", "", 18484, f"10.{claim.n}.0.2", 80)])
        assert "left_over" not in listed() and "tcp dport 18484" in listed()
    finally:
        nft.delete(claim.table)
