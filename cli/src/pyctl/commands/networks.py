"""Network commands: network create/ls/inspect/rm/connect/disconnect/prune, port; and run's network flags."""

from __future__ import annotations

import argparse
import json
import sys

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..api.types import ContainerConfig


def add_run_flags(p: argparse.ArgumentParser) -> None:
    """The networking flags of create and run, as docker names them."""
    p.add_argument("--network", "--net", help="bridge (default), a network's name, host, none or container:NAME")
    p.add_argument("--network-alias", "--net-alias", action="append", default=[],
                   help="an alias on the network (repeatable)")
    p.add_argument("--link", action="append", default=[], help="NAME[:ALIAS]: a link to another container")
    p.add_argument("--ip", default="", help="IPv4 address on the network")
    p.add_argument("--dns", action="append", default=[], help="a DNS server (repeatable)")
    p.add_argument("--dns-search", action="append", default=[], help="a DNS search domain (repeatable)")
    p.add_argument("--add-host", action="append", default=[], help="a host:ip line for /etc/hosts (repeatable)")
    p.add_argument("-p", "--publish", action="append", default=[],
                   help="publish a port: [ip:][hostPort:]containerPort[/tcp|udp] (repeatable)")
    p.add_argument("-P", "--publish-all", action="store_true", help="publish every exposed port on a random port")


def config_fields(args: argparse.Namespace) -> ContainerConfig:
    """The ContainerConfig fields of run/create's network flags (--network itself is one of run's)."""
    return {"network_aliases": args.network_alias, "ip": args.ip, "dns": args.dns, "dns_search": args.dns_search,
            "add_hosts": args.add_host, "publish": args.publish, "publish_all": args.publish_all, "links": args.link}


def _labels(items: list[str]) -> dict[str, str]:
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


def create(api: Api, args: argparse.Namespace) -> int:
    nid = api.networks.create(args.name, driver=args.driver or "", subnet=args.subnet or "",
                              gateway=args.gateway or "", labels=_labels(args.label), internal=args.internal,
                              options=_labels(args.opt))
    sys.stdout.write(nid + "\n")
    return 0


def ls(api: Api, args: argparse.Namespace) -> int:
    nets = api.networks.ls()
    for f in args.filter:
        k, _, v = f.partition("=")
        if k not in ("name", "id", "driver"):
            raise CLIError(f"invalid filter {f!r}: want name=, id= or driver=")
        nets = [n for n in nets if (v in n.name if k == "name" else n.id.startswith(v) if k == "id" else n.driver == v)]
    nets = sorted(nets, key=lambda n: n.name)  # as docker: by name, whatever the format
    if args.quiet:
        sys.stdout.write("".join((n.id if args.no_trunc else n.id[:12]) + "\n" for n in nets))
        return 0
    rows = []
    for n in nets:
        doc = json.loads(n.inspect_json) if n.inspect_json else {}
        rows.append({"ID": n.id if args.no_trunc else n.id[:12], "Name": n.name, "Driver": n.driver, "Scope": n.scope,
                     "IPv6": str(doc.get("EnableIPv6", False)).lower(), "Internal": str(doc.get("Internal", False)).lower(),
                     "Labels": ",".join(f"{k}={v}" for k, v in sorted((doc.get("Labels") or {}).items())),
                     "CreatedAt": n.created})
    output.listing(args.format, rows, ["NETWORK ID", "NAME", "DRIVER", "SCOPE"], ["ID", "Name", "Driver", "Scope"])
    return 0


def inspect(api: Api, args: argparse.Namespace) -> int:
    docs: list[dict[str, Any]] = []  # Any: JSON documents
    status = 0
    for name in args.networks:
        try:
            docs.append(json.loads(api.networks.inspect(name).inspect_json))
        except ApiError as e:
            sys.stderr.write(f"Error response from daemon: {e.message}\n")
            status = 1
    output.inspect_docs(docs, args.format, ["network"] * len(docs))
    return status


def rm(api: Api, args: argparse.Namespace) -> int:
    return output.each(args.networks, api.networks.remove)


def connect(api: Api, args: argparse.Namespace) -> int:
    api.networks.connect(args.network, args.container, aliases=args.alias, ip=args.ip)
    return 0


def disconnect(api: Api, args: argparse.Namespace) -> int:
    api.networks.disconnect(args.network, args.container, force=args.force)
    return 0


def prune(api: Api, args: argparse.Namespace) -> int:
    if not args.force and not output.confirm("This will remove all custom networks not used by at least one container."):
        return 0
    gone = api.networks.prune()
    if gone:
        sys.stdout.write("Deleted Networks:\n" + "".join(n + "\n" for n in gone))
    return 0


def port(api: Api, args: argparse.Namespace) -> int:
    """docker port CONTAINER [PRIVATE_PORT[/PROTO]]"""
    ports = api.networks.ports(args.container)
    if args.private:
        want = args.private if "/" in args.private else args.private + "/tcp"
        ports = [p for p in ports if p.container_port == want]
        if not ports:
            raise CLIError(f"Error: No public port '{want}' published for {args.container}")
        sys.stdout.write("".join(f"{p.host_ip}:{p.host_port}\n" for p in ports))
        return 0
    sys.stdout.write("".join(f"{p.container_port} -> {p.host_ip}:{p.host_port}\n" for p in ports))
    return 0


def add_network_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`pyctl network ...`"""
    net = sub.add_parser("network", help="manage networks")
    nsub = net.add_subparsers(dest="network_command", metavar="COMMAND", required=True)

    p = nsub.add_parser("create", help="create a network")
    p.add_argument("-d", "--driver", default="bridge", help="driver (bridge)")
    p.add_argument("--subnet", help="subnet in CIDR form")
    p.add_argument("--gateway", help="gateway of the subnet")
    p.add_argument("--internal", action="store_true", help="no access to the outside")
    p.add_argument("--label", action="append", default=[], help="set a label (KEY=VALUE)")
    p.add_argument("-o", "--opt", action="append", default=[],
                   help="set a driver option (KEY=VALUE): com.docker.network.bridge.name, ...driver.mtu, ...")
    p.add_argument("name")
    p.set_defaults(func=create)

    p = nsub.add_parser("ls", aliases=["list"], help="list networks")
    p.add_argument("-q", "--quiet", action="store_true", help="only show network IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="name=, id=, driver=")
    p.add_argument("--format", default="", help="json (one JSON object per line), table or a Go template")
    p.set_defaults(func=ls)

    p = nsub.add_parser("inspect", help="show networks' details as JSON")
    p.add_argument("-f", "--format", default="", help="a {{.Field}} template")
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    p.set_defaults(func=inspect)

    p = nsub.add_parser("rm", aliases=["remove"], help="remove networks")
    p.add_argument("networks", nargs="+", metavar="NETWORK")
    p.set_defaults(func=rm)

    p = nsub.add_parser("connect", help="connect a container to a network")
    p.add_argument("--alias", action="append", default=[], help="network-scoped alias (repeatable)")
    p.add_argument("--ip", default="", help="IPv4 address")
    p.add_argument("network")
    p.add_argument("container")
    p.set_defaults(func=connect)

    p = nsub.add_parser("disconnect", help="disconnect a container from a network")
    p.add_argument("-f", "--force", action="store_true", help="force the container to disconnect")
    p.add_argument("network")
    p.add_argument("container")
    p.set_defaults(func=disconnect)

    p = nsub.add_parser("prune", help="remove all unused networks")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=prune)


def add_port(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.add_argument("private", nargs="?", metavar="PRIVATE_PORT[/PROTO]")
    p.set_defaults(func=port)


def ports_column(inspect_json: bytes) -> str:
    """ps's PORTS: 0.0.0.0:8080->80/tcp, 443/tcp"""
    if not inspect_json:
        return ""
    ports = (json.loads(inspect_json).get("NetworkSettings") or {}).get("Ports") or {}
    out = []
    for key in sorted(ports, key=lambda k: (int(k.partition("/")[0]), k)):
        bound = ports[key]
        out += [f"{b['HostIp']}:{b['HostPort']}->{key}" for b in bound] if bound else [key]
    return ", ".join(out)
