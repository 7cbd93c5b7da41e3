"""Address management: free subnets from the address pools, free addresses in a subnet. Pure logic."""

import ipaddress
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import Conflict, InvalidArgument


@dataclass(frozen=True)
class Pool:
    """A --default-address-pool: `base` cut into subnets of /`size`."""
    base: ipaddress.IPv4Network
    size: int

    @classmethod
    def parse(cls, text: str) -> "Pool":
        """docker's form: base=172.80.0.0/16,size=24"""
        fields = dict(kv.partition("=")[::2] for kv in text.split(","))
        try:
            base = ipaddress.IPv4Network(fields["base"], strict=True)
            size = int(fields.get("size", "24"))
        except (KeyError, ValueError) as e:
            raise InvalidArgument(f"--default-address-pool {text!r}: want base=CIDR,size=N ({e})") from None
        if not base.prefixlen <= size <= 30:
            raise InvalidArgument(f"--default-address-pool {text!r}: size must be between the base's prefix and 30")
        return cls(base, size)


# docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s
DEFAULT_POOLS = [Pool(ipaddress.IPv4Network("172.17.0.0/16"), 16), Pool(ipaddress.IPv4Network("172.18.0.0/15"), 16),
                 Pool(ipaddress.IPv4Network("172.20.0.0/14"), 16), Pool(ipaddress.IPv4Network("172.24.0.0/13"), 16),
                 Pool(ipaddress.IPv4Network("192.168.0.0/16"), 20)]


def host_routes(path: Path = Path("/proc/net/route")) -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination the host routes somewhere but the default route: subnets already in use."""
    out: list[ipaddress.IPv4Network] = []
    try:
        lines = path.read_text().splitlines()[1:]
    except OSError:
        return out
    for line in lines:
        f = line.split()
        if len(f) < 8:
            continue
        dest, mask = (socket.inet_ntoa(struct.pack("<I", int(x, 16))) for x in (f[1], f[7]))
        net = ipaddress.IPv4Network(f"{dest}/{mask}", strict=False)
        if net.prefixlen:
            out.append(net)
    return out


def free_subnet(pools: Iterable[Pool], taken: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    taken = list(taken)
    for pool in pools:
        for net in pool.base.subnets(new_prefix=pool.size):
            if not any(net.overlaps(t) for t in taken):
                return net
    raise Conflict("could not find an available, non-overlapping IPv4 address pool among the defaults to assign "
                   "to the network")


def parse_subnet(subnet: str, gateway: str) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Address]:
    try:
        net = ipaddress.IPv4Network(subnet, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid subnet {subnet}: invalid CIDR address") from None
    if net.prefixlen > 30:
        raise InvalidArgument(f"invalid subnet {subnet}: too small for a gateway and a container")
    if not gateway:
        return net, net.network_address + 1
    try:
        gw = ipaddress.IPv4Address(gateway)
    except ValueError:
        raise InvalidArgument(f"invalid gateway address {gateway}") from None
    if gw not in net or gw in (net.network_address, net.broadcast_address):
        raise InvalidArgument(f"no matching subnet for gateway {gateway}")
    return net, gw


def allocate(net: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address, used: Iterable[str],
             wanted: str = "") -> ipaddress.IPv4Address:
    """`wanted` if free (else an error naming it), or the lowest free host address of the subnet."""
    used_set = {ipaddress.IPv4Address(u) for u in used} | {gateway}
    if wanted:
        try:
            ip = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise InvalidArgument(f"invalid IPv4 address: {wanted}") from None
        if ip not in net or ip in (net.network_address, net.broadcast_address):
            raise InvalidArgument(f"no configured subnet contains IP address {wanted}")
        if ip in used_set:
            raise Conflict(f"Address already in use: {wanted}")
        return ip
    for ip in net.hosts():
        if ip not in used_set:
            return ip
    raise Conflict(f"no available IPv4 addresses on this network's address pools: {net}")


def mac_for(ip: ipaddress.IPv4Address) -> str:
    """docker's scheme: 02:42 then the four bytes of the address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)
