"""A container's endpoints (its address lease on each network): made at create or connect, plugged in
(a veth on the network's bridge, the other end born in the container's netns) while it runs."""

import ipaddress
import logging
import os

from ..threads import in_thread
from . import ipam, links
from .kernel import Kernel
from .store import Endpoint, Network, NetworkStore

log = logging.getLogger("pyruncd.networks")


def new_endpoint(store: NetworkStore, cid: str, n: Network, idx: int, aliases: list[str], wanted: str) -> Endpoint:
    """The lease: `wanted` (--ip) or the lowest free address; eth<idx> in the container."""
    used = [e.ip for e in store.endpoints(network_id=n.id)]
    ip = ipam.allocate(ipaddress.IPv4Network(n.subnet), ipaddress.IPv4Address(n.gateway), used, wanted)
    e = Endpoint(cid, n.id, str(ip), ipam.mac_for(ip), os.urandom(32).hex(), aliases, idx, "", wanted)
    store.insert_endpoint(e)
    return e


async def reserve(store: NetworkStore, kernel: Kernel, e: Endpoint) -> None:
    """What plugging needs no netns for: the network's bridge up, the veth's name recorded (from then on
    the endpoint counts as attached: sync() writes its network's and its ports' rules)."""
    await kernel.bring_up(store.network(e.network_id))
    e.veth = "veth" + os.urandom(4).hex()[:7]
    store.set_veth(e)


async def plug(store: NetworkStore, e: Endpoint, pid: int) -> None:
    """A reserved endpoint's veth, into the netns of `pid`."""
    n = store.network(e.network_id)
    eth = links.Eth(e.veth, f"eth{e.idx}", e.ip, n.prefixlen, e.mac, n.gateway if e.idx == 0 else "", n.mtu)
    await in_thread(links.attach, pid, n.bridge, eth)


async def unplug_all(store: NetworkStore, kernel: Kernel, cid: str) -> None:
    """Every veth of the container, and its published ports, at once (a start that failed); a reserved
    veth not plugged yet is only forgotten."""
    for e in store.endpoints(container_id=cid):
        if e.veth:
            try:
                await in_thread(links.detach, e.veth)
            except OSError as err:
                log.warning("veth not removed", extra={"id": cid, "veth": e.veth, "error": str(err)})
            e.veth = ""
            store.set_veth(e)
    store.delete_bindings(cid)
    await kernel.sync()
