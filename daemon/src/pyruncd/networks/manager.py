"""Networks and how containers use them: the facade the containers and the gRPC service call.

Leases (endpoints) live from container create to rm; the kernel side (kernel.py) lives only while a
container runs. Every change ends in Kernel.sync(), which brings the kernel to what the database says.
The database is used on the event loop's thread only; netlink and nft calls run in worker threads.
Modules: store (SQL), predefined, options (the --network flags), etc (/etc/hosts, resolv.conf),
endpoints (leases, plugging veths), publish (-p), kernel (bridges, DNS, nft, ip_forward), inspect_docs.
"""

import asyncio
import ipaddress
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import rfc3339
from ..errors import Conflict, InvalidArgument, NotFound
from ..events import EventBus
from ..threads import in_thread
from . import bridge_options, endpoints, etc, inspect_docs, ipam, links, options
from .container import Container, NetworkFlags
from .kernel import Kernel
from .predefined import ensure_predefined
from .publish import bind_ports
from .store import BRIDGE_NAME, PREDEFINED, Binding, Endpoint, Network, NetworkStore

log = logging.getLogger("pyruncd.networks")

DNS_PORT = 53


@dataclass
class NetConfig:
    """The daemon's networking flags."""
    bridge: str = "pyrunc0"                 # the default bridge network's Linux bridge
    bip: str = ""                           # its gateway/prefix; empty: a free /16 from 172.18-31 at first start
    address_pools: list[str] = field(default_factory=list)   # --default-address-pool base=CIDR,size=N
    nft_table: str = "pyruncd"
    dns_port: int = DNS_PORT


def join_netns(doc: dict[str, Any], path: str) -> None:
    """`--network container:NAME`: the bundle joins that container's network namespace."""
    for ns in doc["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = path


class Networks:
    def __init__(self, conn: sqlite3.Connection, root: Path, config: NetConfig,
                 resolve_container: Callable[[str], str], events: EventBus | None = None):
        """`resolve_container`: a container's name, id or id prefix -> its id (the containers store's
        resolve, injected so that networks does not import containers, which imports networks).
        `events`: the daemon's event stream (create, connect, disconnect, destroy, prune)."""
        self.store = NetworkStore(conn)
        self.events = events or EventBus()
        self.resolve_container = resolve_container
        self.containers_root = root / "containers"
        self.cfg = config
        self.pools = [ipam.Pool.parse(p) for p in config.address_pools] or ipam.DEFAULT_POOLS
        self.kernel = Kernel(self.store, nft_table=config.nft_table, dns_port=config.dns_port)
        self._lock: asyncio.Lock | None = None
        self._stale: list[str] = []               # host veth ends of exited containers, to delete
        self._settling: asyncio.Task[None] | None = None
        self._dirty = False
        ensure_predefined(self.store, bridge_name=config.bridge, bip=config.bip)

    # ---- networks

    def all(self) -> list[Network]:
        return self.store.networks()

    def get(self, text: str) -> Network:
        return self.store.resolve(text)

    def create(self, name: str, driver: str = "", subnet: str = "", gateway: str = "",
               labels: dict[str, str] | None = None, internal: bool = False,
               driver_options: dict[str, str] | None = None) -> Network:
        driver = driver or "bridge"
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        if not name:
            raise InvalidArgument("network name: empty")
        if name in PREDEFINED:
            raise Conflict(f"network with name {name} already exists")
        opts = dict(driver_options or {})
        bridge_options.check(opts, [n for n in self.store.networks() if n.bridge], name)
        ours = [ipaddress.IPv4Network(n.subnet) for n in self.store.networks() if n.subnet]
        if subnet:
            net, gw = ipam.parse_subnet(subnet, gateway)
            if any(net.overlaps(o) for o in ours + ipam.host_routes()):
                raise Conflict("Pool overlaps with other one on this address space")
        else:
            if gateway:
                raise InvalidArgument("--gateway needs --subnet")
            net = ipam.free_subnet(self.pools, ours + ipam.host_routes())
            gw = net.network_address + 1
        nid = os.urandom(32).hex()
        n = Network(nid, name, "bridge", str(net), str(gw), opts.get(BRIDGE_NAME) or "br-" + nid[:12], internal,
                    dict(labels or {}), rfc3339(), opts)
        self.store.insert(n)
        log.info("network created", extra={"network": name, "subnet": n.subnet})
        self._event("create", n)
        return n

    def _event(self, action: str, n: Network, **attrs: str) -> None:
        self.events.emit("network", action, n.id, **attrs, name=n.name, type=n.driver)

    def remove(self, text: str) -> Network:
        n = self.get(text)
        if n.predefined:
            raise Conflict(f"{n.name} is a pre-defined network and cannot be removed")
        if self.store.endpoints(network_id=n.id):
            raise Conflict(f"error while removing network: network {n.name} id {n.id} has active endpoints")
        self.store.delete(n.id)
        log.info("network removed", extra={"network": n.name})
        self._event("destroy", n)
        return n

    def prune(self) -> list[str]:
        gone = []
        for n in self.store.networks():
            if not n.predefined and not self.store.endpoints(network_id=n.id):
                self.store.delete(n.id)
                self._event("destroy", n)
                gone.append(n.name)
        self.events.emit("network", "prune", "", reclaimed="0")
        return gone

    def inspect_doc(self, n: Network) -> dict[str, Any]:
        return inspect_docs.network_doc(self.store, n)

    # ---- a container's side: create

    def validate(self, mode: str, o: NetworkFlags, image_config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """--network and its companion flags -> (the mode to store, the per-container settings)."""
        return options.validate(mode, o, image_config, resolve_container=self.resolve_container,
                                network_name=lambda text: self.get(text).name)

    def allocate(self, rec: Container, etc_dir: Path) -> None:
        """At create: the lease on the container's network, and its /etc/hosts and /etc/resolv.conf."""
        s = rec.config.settings
        mode, nc = s.network, s.net
        etc_dir.mkdir(parents=True, exist_ok=True)
        if mode.startswith("container:"):
            etc.copy_from(self.containers_root / mode.partition(":")[2] / "etc", etc_dir)
            return
        n = self.get(mode)
        ep = (endpoints.new_endpoint(self.store, rec.id, n, 0, nc.get("aliases", []), nc.get("ip", ""))
              if n.driver == "bridge" else None)
        linked = self._legacy_links(n, nc.get("links", [])) if n.name == "bridge" else []
        etc.write(etc_dir, n, nc, s.hostname, ep.ip if ep else "", host_network=mode == "host", linked=linked)

    def _legacy_links(self, bridge: Network, links: list[list[str]]) -> list[tuple[str, str]]:
        """--link on the default bridge: each target's address there and "ALIAS HOSTNAME [NAME]", as
        docker's /etc/hosts lines for legacy links."""
        out = []
        for target, alias in links:
            row = self.store.container(target)
            ep = next(iter(self.store.endpoints(container_id=target, network_id=bridge.id)), None)
            if row is None or ep is None:
                raise Conflict(f"Cannot link to /{row['name'] if row else target}, as it does not belong to the "
                               "default network")
            hostname = json.loads(row["config"])["settings"]["hostname"]
            out.append((ep.ip, " ".join([alias, hostname] + ([row["name"]] if alias != row["name"] else []))))
        return out

    def netns_path(self, rec: Container) -> str:
        """For a `container:` mode container about to start: the netns to join (its target must run)."""
        mode = rec.config.settings.network
        if not mode.startswith("container:"):
            return ""
        target = self.store.container(mode.partition(":")[2])
        if target is None:
            raise NotFound(f"No such container: {mode.partition(':')[2]}")
        if target["status"] not in ("running", "paused") or not target["pid"]:
            raise Conflict(f"cannot join network of a non running container: {target['id']}")
        return f"/proc/{target['pid']}/ns/net"

    def release(self, cid: str) -> None:
        """At rm: the leases go."""
        self.store.delete_bindings(cid)
        self.store.delete_endpoints(cid)

    # ---- a container's side: start and exit

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def attach_during(self, rec: Container, creating: Awaitable[int]) -> int:
        """The attach around the runtime's create (`creating` gives the task's pid, once its netns exists):
        what needs no netns (bridges up, ports bound, the nft table and the FORWARD rules: ~20-30 ms of
        netlink and of nft and iptables runs) is done during the create, the veths plugged after it.
        Either failing undoes the other's part; the create's error is the one raised."""
        eps = self.store.endpoints(container_id=rec.id)
        if not eps:
            return await creating
        prepared = asyncio.ensure_future(self._prepare(rec, eps))
        try:
            pid = await creating
        except BaseException:
            await asyncio.wait([prepared])  # a cancelled create leaves the prepare to end, then undoes it
            if not prepared.cancelled() and prepared.exception() is None:
                async with self._locked():
                    await endpoints.unplug_all(self.store, self.kernel, rec.id)
            raise
        await prepared
        async with self._locked():
            try:
                for e in eps:
                    await endpoints.plug(self.store, e, pid)
            except BaseException:
                await endpoints.unplug_all(self.store, self.kernel, rec.id)
                raise
        for e in eps:
            self._event("connect", self.store.network(e.network_id), container=rec.id)
        return pid

    async def _prepare(self, rec: Container, eps: list[Endpoint]) -> None:
        """Undone by itself when it fails."""
        async with self._locked():
            try:
                for e in eps:
                    await endpoints.reserve(self.store, self.kernel, e)
                bind_ports(self.store, rec.id, rec.config.settings.net.get("ports", []))
                await self.kernel.sync()
            except BaseException:
                await endpoints.unplug_all(self.store, self.kernel, rec.id)
                raise

    async def detach(self, cid: str) -> None:
        """At exit: the endpoints and ports are released at once; the kernel follows in the background
        (veths, port rules, a network left without containers going down), so that an exit, and `run
        --rm`, is not held up by teardown. settle() waits for it."""
        eps = [e for e in self.store.endpoints(container_id=cid) if e.veth]
        if not eps and not self.store.bindings(cid):
            return
        for e in eps:
            self._stale.append(e.veth)
            e.veth = ""
            self.store.set_veth(e)
            self._event("disconnect", self.store.network(e.network_id), container=cid)
        self.store.delete_bindings(cid)
        self._dirty = True
        if self._settling is None or self._settling.done():
            self._settling = asyncio.ensure_future(self._settle())

    async def _settle(self) -> None:
        while self._dirty:
            self._dirty = False
            async with self._locked():
                while self._stale:
                    veth = self._stale.pop()
                    try:
                        await in_thread(links.detach, veth)
                    except Exception as e:  # noqa: BLE001 - logged; the sync below must still run
                        log.warning("network teardown failed", extra={"link": veth, "error": str(e)})
                try:
                    await self.kernel.sync()
                except Exception as e:  # noqa: BLE001 - logged; the next sync retries
                    log.warning("network teardown failed", extra={"error": str(e)})

    async def settle(self) -> None:
        """Wait for the background teardown (before the daemon stops)."""
        if self._settling is not None:
            await asyncio.gather(self._settling, return_exceptions=True)

    # ---- connect and disconnect

    async def connect(self, network: str, container: str, aliases: list[str], ip: str) -> None:
        cid = self.resolve_container(container)
        row = self.store.container(cid)
        if row is None:
            raise NotFound(f"No such container: {container}")
        n = self.get(network)
        mode: str = json.loads(row["config"])["settings"]["network"]
        if mode in ("host", "none") or mode.startswith("container:") or n.driver != "bridge":
            raise Conflict("container sharing network namespace with another container or host cannot be "
                           "connected to any other network")
        if (aliases or ip) and n.name == "bridge":
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks"
                                  if aliases else "user specified IP address is supported on user defined networks only")
        async with self._locked():
            eps = self.store.endpoints(container_id=cid)
            if any(e.network_id == n.id for e in eps):
                raise Conflict(f"endpoint with name {row['name']} already exists in network {n.name}")
            e = endpoints.new_endpoint(self.store, cid, n, max((x.idx for x in eps), default=-1) + 1, aliases, ip)
            if row["status"] in ("running", "paused") and row["pid"]:
                try:
                    await endpoints.reserve(self.store, self.kernel, e)
                    await endpoints.plug(self.store, e, row["pid"])
                except BaseException:
                    self.store.delete_endpoint(cid, n.id)
                    raise
                await self.kernel.sync()
                self._event("connect", n, container=cid)
            self._point_resolver(cid)

    async def disconnect(self, network: str, container: str, force: bool = False) -> None:
        n = self.get(network)
        try:
            cid = self.resolve_container(container)
        except NotFound:
            if not force:
                raise
            return
        async with self._locked():
            e = next((x for x in self.store.endpoints(container_id=cid) if x.network_id == n.id), None)
            if e is None:
                raise Conflict(f"container {cid} is not connected to network {n.name}")
            if e.veth:
                await in_thread(links.detach, e.veth)
                self._event("disconnect", n, container=cid)
            self.store.delete_endpoint(cid, n.id)
            await self.kernel.sync()
            self._point_resolver(cid)

    def _point_resolver(self, cid: str) -> None:
        """After a connect or disconnect, as docker's embedded resolver: a container on a user network asks
        the responder of its first one (which answers for all its networks); else it asks what the default
        bridge's containers ask. /etc/resolv.conf is bound into the container: rewritten in place."""
        row = self.store.container(cid)
        path = self.containers_root / cid / "etc" / "resolv.conf"
        if row is None or not path.exists():
            return
        settings = json.loads(row["config"])["settings"]
        nets = [self.store.network(e.network_id) for e in self.store.endpoints(container_id=cid)]
        n = next((x for x in nets if x.name != "bridge"), None) or self.get("bridge")
        text = etc.resolv_conf(n, settings.get("net", {}))
        if path.read_text() != text:
            path.write_text(text)

    # ---- daemon start and stop

    async def restore(self, running: dict[str, int]) -> None:
        """After a daemon restart: endpoints of containers that died meanwhile are unplugged, the live ones'
        bridges, responders and rules are taken over (the table is rewritten once), the rest removed."""
        async with self._locked():
            for e in self.store.endpoints():
                if e.veth and e.container_id not in running:
                    await in_thread(links.detach, e.veth)
                    e.veth = ""
                    self.store.set_veth(e)
            for b in self.store.bindings():
                if b.container_id not in running:
                    self.store.delete_bindings(b.container_id)
            await self.kernel.take_over()

    def close(self) -> None:
        """Call after settle(). Containers outlive the daemon: their bridges and rules stay; only our responders stop."""
        self.kernel.close()

    # ---- what inspect and `port` show

    def bindings(self, container: str) -> list[Binding]:
        return self.store.bindings(self.resolve_container(container))

    def inspect_parts(self, rec: Container) -> tuple[dict[str, Any], dict[str, Any]]:
        """(NetworkSettings, HostConfig's network fields) of a container, as docker shows them."""
        return inspect_docs.container_parts(self.store, rec)
