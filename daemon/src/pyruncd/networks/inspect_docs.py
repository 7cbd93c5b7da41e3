"""What `network inspect` and a container's inspect show of networks, as docker shows them."""

from typing import Any

from .container import Container
from .store import BRIDGE_NAME, Network, NetworkStore


def network_doc(store: NetworkStore, n: Network) -> dict[str, Any]:
    containers = {}
    for e in store.endpoints(network_id=n.id):
        row = store.container(e.container_id)
        if row is None or not e.veth:
            continue
        containers[e.container_id] = {"Name": row["name"], "EndpointID": e.endpoint_id, "MacAddress": e.mac,
                                      "IPv4Address": f"{e.ip}/{n.prefixlen}", "IPv6Address": ""}
    config = [{"Subnet": n.subnet, "Gateway": n.gateway}] if n.subnet else []
    return {"Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
            "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": config},
            "Internal": n.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
            "ConfigOnly": False, "Containers": containers,
            "Options": n.options or ({BRIDGE_NAME: n.bridge} if n.predefined and n.bridge else {}),
            "Labels": n.labels}


def container_parts(store: NetworkStore, rec: Container) -> tuple[dict[str, Any], dict[str, Any]]:
    """(NetworkSettings, HostConfig's network fields) of a container."""
    s = rec.config.settings
    nc = s.net or {}
    running = rec.status in ("running", "paused")
    ports: dict[str, list[dict[str, str]] | None] = {}
    for p in nc.get("ports", []):
        ports.setdefault(f"{p['container_port']}/{p['proto']}", None)
    for b in store.bindings(rec.id):
        ports.setdefault(f"{b.container_port}/{b.proto}", None)
        ports[f"{b.container_port}/{b.proto}"] = (ports[f"{b.container_port}/{b.proto}"] or []) + [
            {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)}]
    networks: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {"Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "EndpointID": ""}
    for e in store.endpoints(container_id=rec.id):
        n = store.network(e.network_id)
        live = bool(e.veth)
        doc = {"IPAMConfig": {"IPv4Address": e.ip_asked} if e.ip_asked else None, "Links": None,
               "Aliases": e.aliases or None, "NetworkID": n.id, "EndpointID": e.endpoint_id if live else "",
               "Gateway": n.gateway if live else "", "IPAddress": e.ip if live else "",
               "IPPrefixLen": n.prefixlen if live else 0, "IPv6Gateway": "", "GlobalIPv6Address": "",
               "GlobalIPv6PrefixLen": 0, "MacAddress": e.mac if live else "", "DriverOpts": None}
        networks[n.name] = doc
        if n.name == "bridge":
            top = {k: doc[k] for k in top}
    if s.network in ("host", "none"):
        networks[s.network] = {"IPAMConfig": None, "Links": None, "Aliases": None,
                               "NetworkID": store.resolve(s.network).id, "EndpointID": "", "Gateway": "",
                               "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}
    settings = {"Bridge": "", "SandboxID": "", "SandboxKey": f"/proc/{rec.pid}/ns/net" if running and rec.pid else "",
                "Ports": ports if running else {}, **top, "Networks": networks}
    bindings: dict[str, list[dict[str, str]]] = {f"{p['container_port']}/{p['proto']}": [] for p in nc.get("ports", [])}
    for p in nc.get("ports", []):
        bindings[f"{p['container_port']}/{p['proto']}"].append(
            {"HostIp": p["host_ip"], "HostPort": str(p["host_port"]) if p["host_port"] else ""})
    host = {"NetworkMode": s.network, "PortBindings": bindings, "PublishAllPorts": nc.get("publish_all", False),
            "Dns": nc.get("dns", []), "DnsSearch": nc.get("dns_search", []), "ExtraHosts": nc.get("add_hosts") or None,
            "Links": _links(store, rec.id, nc.get("links", []))}
    return settings, host


def _links(store: NetworkStore, cid: str, links: list[list[str]]) -> list[str] | None:
    """HostConfig.Links as docker shows them: "/TARGET:/ME/ALIAS"."""
    me = store.container(cid)
    out = []
    for target, alias in links:
        row = store.container(target)
        if row is not None and me is not None:
            out.append(f"/{row['name']}:/{me['name']}/{alias}")
    return out or None
