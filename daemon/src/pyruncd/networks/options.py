"""--network and its companion flags (--ip, --network-alias, --dns, --add-host, -p, -P) checked as docker
checks them, into the per-container settings kept in the container's config."""

import ipaddress
from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgument
from . import ports as portspec
from .container import NetworkFlags
from .store import PREDEFINED


def add_host(text: str) -> tuple[str, str]:
    host, sep, ip = text.partition(":") if ":" in text else text.partition("=")
    if not sep or not host:
        raise InvalidArgument(f'invalid argument "{text}" for "--add-host" flag: bad format for add-host: "{text}"')
    if ip != "host-gateway":
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise InvalidArgument(f'invalid argument "{text}" for "--add-host" flag: invalid IP address in add-host:'
                                  f' "{ip}"') from None
    return host, ip


def validate(mode: str, o: NetworkFlags, image_config: dict[str, Any], *, resolve_container: Callable[[str], str],
             network_name: Callable[[str], str]) -> tuple[str, dict[str, Any]]:
    """-> (the mode to store, the per-container settings). `resolve_container`: a container's name or id ->
    its id; `network_name`: a network's name or id -> its name."""
    mode = mode or "bridge"
    aliases, ip = list(o.network_aliases), o.ip
    publish = [portspec.parse_publish(p) for p in o.publish] + (
        portspec.exposed(image_config) if o.publish_all else [])
    hosts = [add_host(h) for h in o.add_hosts]
    if mode.startswith("container:"):
        target = resolve_container(mode.partition(":")[2])
        if publish:
            raise InvalidArgument("conflicting options: port publishing and the container type network mode")
        if o.dns or o.dns_search or hosts:
            raise InvalidArgument("conflicting options: dns and the network mode")
        mode = "container:" + target
    elif mode in ("host", "none"):
        publish = []  # docker drops them with a warning: nothing to forward to
    else:
        mode = network_name(mode)
    if (ip or aliases) and (mode in PREDEFINED or mode.startswith("container:")):
        raise InvalidArgument("user specified IP address is supported on user defined networks only" if ip else
                              "network-scoped alias is supported only for containers in user defined networks")
    return mode, {"aliases": aliases, "ip": ip, "dns": list(o.dns), "dns_search": list(o.dns_search),
                  "add_hosts": [f"{h}:{i}" for h, i in hosts], "ports": [p.dump() for p in publish],
                  "publish_all": bool(o.publish_all)}
