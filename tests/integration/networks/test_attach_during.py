"""Networks.attach_during against the real kernel: the attach's netns-free part runs while the runtime's
create does, the veths are plugged after it, and a failure of either side leaves no veth, bridge, nft
table, port binding or ip_forward claim behind."""

import asyncio
import os
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyruncd import db
from pyruncd.containers.store import Store
from pyruncd.errors import Conflict
from pyruncd.networks import ipforward
from pyruncd.networks.manager import NetConfig, Networks

from tests.harness.netclaim import link_exists, nft_table_exists
from tests.integration.networks.test_networks_kernel import _container, _in_ns

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="netlink and nftables need root")

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def _networks(tmp_path, claim, sandbox, publish: list[str]):
    conn = db.connect(tmp_path / "meta.db")
    cfg = NetConfig(bridge=claim.bridge, bip=claim.bip, address_pools=[claim.pool], nft_table=claim.table)
    nets = Networks(conn, tmp_path, cfg, resolve_container=Store(conn).resolve)
    opts = SimpleNamespace(network_aliases=[], ip="", dns=[], dns_search=[], add_hosts=[], links=[], publish=publish,
                           publish_all=False)
    mode, net = nets.validate("bridge", opts, {})
    rec = _container(conn, "d" * 64, "web", mode, net, sandbox.pid)
    nets.allocate(rec, tmp_path / "etc")
    return conn, nets, rec


def _nothing_left(nets: Networks, claim, cid: str) -> None:
    assert not link_exists(claim.bridge) and not nft_table_exists(claim.table)
    assert [e.veth for e in nets.store.endpoints(container_id=cid)] == [""]  # the lease stays until rm
    assert nets.store.bindings(cid) == []
    assert not (ipforward.CLAIMS / claim.table).exists()


def test_the_bridge_and_rules_come_up_during_the_create(tmp_path, claim, sandbox):
    forward = IP_FORWARD.read_text()
    conn, nets, rec = _networks(tmp_path, claim, sandbox, ["18482:80"])

    async def creating() -> int:
        for _ in range(500):  # the create lasts until the netns-free part is done
            if nft_table_exists(claim.table):
                return sandbox.pid
            await asyncio.sleep(0.01)
        raise AssertionError("the nft table did not come during the create")

    async def run():
        assert await nets.attach_during(rec, creating()) == sandbox.pid
        try:
            assert link_exists(claim.bridge)
            ep = nets.store.endpoints(container_id=rec.id)[0]
            assert link_exists(ep.veth) and f"inet {ep.ip}/24" in _in_ns(sandbox.pid, "ip", "-4", "-o", "addr")
            rules = subprocess.run(["nft", "list", "table", "ip", claim.table], capture_output=True, text=True).stdout
            assert f"tcp dport 18482 dnat to {ep.ip}:80" in rules
        finally:
            await nets.detach(rec.id)
            await nets.settle()
        _nothing_left(nets, claim, rec.id)
        nets.close()

    asyncio.run(run())
    assert IP_FORWARD.read_text() == forward
    conn.close()


def test_a_failed_create_undoes_the_attach(tmp_path, claim, sandbox):
    forward = IP_FORWARD.read_text()
    conn, nets, rec = _networks(tmp_path, claim, sandbox, ["18483:80"])

    async def creating() -> int:
        await asyncio.sleep(0.01)  # the prepare is under way, not done
        raise RuntimeError("pyrunc create: exit status 1")

    async def run():
        with pytest.raises(RuntimeError, match="pyrunc create"):
            await nets.attach_during(rec, creating())
        _nothing_left(nets, claim, rec.id)
        nets.close()

    asyncio.run(run())
    assert IP_FORWARD.read_text() == forward
    conn.close()


def test_a_failed_prepare_after_the_create_undoes_itself(tmp_path, claim, sandbox):
    forward = IP_FORWARD.read_text()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conn, nets, rec = _networks(tmp_path, claim, sandbox, [f"{port}:80"])

        async def run():
            with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{port} failed: port is already allocated"):
                await nets.attach_during(rec, asyncio.sleep(0, sandbox.pid))
            _nothing_left(nets, claim, rec.id)
            assert _in_ns(sandbox.pid, "ip", "-o", "link").count(": eth") == 0
            nets.close()

        asyncio.run(run())
    assert IP_FORWARD.read_text() == forward
    conn.close()
