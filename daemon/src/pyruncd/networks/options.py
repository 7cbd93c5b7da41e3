"""--network and its companion flags (--ip, --network-alias, --dns, --add-host, -p, -P, --link) checked as
docker checks them, into the per-container settings kept in the container's config."""

import ipaddress
from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgument, NotFound
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


def _link(text: str, resolve_container: Callable[[str], str]) -> list[str]:
    """--link NAME[:ALIAS] -> [the target's id, the alias (its name when not given)]."""
    name, _, alias = text.partition(":")
    name = name.lstrip("/")
    try:
        target = resolve_container(name)
    except NotFound:
        raise NotFound(f"could not get container for {name}: No such container: {name}") from None
    return [target, alias or name]


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
    links = [_link(text, resolve_container) for text in o.links]
    if links and (mode == "host" or mode.startswith("container:")):
        raise InvalidArgument("conflicting options: host type networking can't be used with links. This would "
                              "result in undefined behavior" if mode == "host" else "conflicting options: container "
                              "type network can't be used with links. This would result in undefined behavior")
    if (ip or aliases) and (mode in PREDEFINED or mode.startswith("container:")):
        raise InvalidArgument("user specified IP address is supported on user defined networks only" if ip else
                              "network-scoped alias is supported only for containers in user defined networks")
    return mode, {"aliases": aliases, "ip": ip, "dns": list(o.dns), "dns_search": list(o.dns_search),
                  "add_hosts": [f"{h}:{i}" for h, i in hosts], "ports": [p.dump() for p in publish],
                  "publish_all": bool(o.publish_all), "links": links}
