"""The predefined networks: host, none, and the default bridge, whose addressing follows --bridge and
--bip (or a free /16) unless containers hold leases on it."""

import ipaddress
import os

from ..clock import rfc3339
from ..errors import InvalidArgument
from . import ipam
from .store import Network, NetworkStore

DEFAULT_BRIDGE_POOLS = [ipam.Pool(ipaddress.IPv4Network(n), 16)
                        for n in ("172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13")]


def ensure_predefined(store: NetworkStore, *, bridge_name: str, bip: str) -> None:
    have = {n.name: n for n in store.networks()}
    for name, driver in (("host", "host"), ("none", "null")):
        if name not in have:
            store.insert(Network(os.urandom(32).hex(), name, driver, created=rfc3339()))
    bridge = have.get("bridge")
    if bridge is not None and store.endpoints(network_id=bridge.id):
        return  # containers hold leases on it: its addressing stays
    if bip:
        try:
            iface = ipaddress.IPv4Interface(bip)
        except ValueError:
            raise InvalidArgument(f"--bip {bip}: want the gateway's address/prefix") from None
        subnet, gw = str(iface.network), str(iface.ip)
    elif bridge is not None and bridge.bridge == bridge_name:
        return
    else:
        taken = ipam.host_routes() + [ipaddress.IPv4Network(n.subnet) for n in have.values()
                                      if n.subnet and n.name != "bridge"]
        net = ipam.free_subnet(DEFAULT_BRIDGE_POOLS, taken)
        subnet, gw = str(net), str(net.network_address + 1)
    if bridge is None:
        store.insert(Network(os.urandom(32).hex(), "bridge", "bridge", subnet, gw, bridge_name, created=rfc3339()))
    else:
        bridge.subnet, bridge.gateway, bridge.bridge = subnet, gw, bridge_name
        store.update_addressing(bridge)
