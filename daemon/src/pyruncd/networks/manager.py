"""Networks and how containers use them.

Leases (endpoints) live from container create to rm; the kernel side lives only while a container
runs: a network's bridge (and its DNS responder) is up while one of its containers is attached, our
nft table exists while any bridge is up, and ip_forward is claimed for as long. Every change ends in
_sync(), which brings the kernel to what the database says, so a restarted daemon converges too.
The database is used on the event loop's thread only; netlink and nft calls run in worker threads.
"""

import asyncio
import ipaddress
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..clock import rfc3339
from ..errors import Conflict, InvalidArgument, NotFound
from ..threads import in_thread
from . import ipam, ipforward, nft
from . import ports as portspec
from .store import PREDEFINED, Binding, Endpoint, Network, NetworkStore

log = logging.getLogger("pyruncd.networks")

DEFAULT_BRIDGE_POOLS = [ipam.Pool(ipaddress.IPv4Network(n), 16)
                        for n in ("172.18.0.0/15", "172.20.0.0/14", "172.24.0.0/13")]
BASE_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
DNS_PORT = 53


@dataclass
class NetConfig:
    """The daemon's networking flags."""
    bridge: str = "pyrunc0"                 # the default bridge network's Linux bridge
    bip: str = ""                           # its gateway/prefix; empty: a free /16 from 172.18-31 at first start
    address_pools: list[str] = field(default_factory=list)   # --default-address-pool base=CIDR,size=N
    nft_table: str = "pyruncd"
    dns_port: int = DNS_PORT


def join_netns(doc: dict, path: str) -> None:
    """`--network container:NAME`: the bundle joins that container's network namespace."""
    for ns in doc["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = path


def _resolv(path: Path = Path("/etc/resolv.conf")) -> tuple[list[str], list[str], list[str]]:
    """The host's nameservers, search domains and options."""
    ns, search, options = [], [], []
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = []
    for f in (line.split() for line in lines):
        if len(f) >= 2 and f[0] == "nameserver":
            ns.append(f[1])
        elif f and f[0] in ("search", "domain"):
            search = f[1:]
        elif f and f[0] == "options":
            options += f[1:]
    return ns, search, options


def _add_host(text: str) -> tuple[str, str]:
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


class Networks:
    def __init__(self, conn, root: Path, config: NetConfig, resolve_container: Callable[[str], str]):
        """`resolve_container`: a container's name, id or id prefix -> its id (the containers store's
        resolve, injected so that networks does not import containers, which imports networks)."""
        self.store = NetworkStore(conn)
        self.resolve_container = resolve_container
        self.containers_root = root / "containers"
        self.cfg = config
        self.pools = [ipam.Pool.parse(p) for p in config.address_pools] or ipam.DEFAULT_POOLS
        self._lock: asyncio.Lock | None = None
        self._dns: dict[str, object] = {}         # network id -> its responder's transport
        self._up: dict[str, str] = {}             # network id -> the bridge we brought up for it
        self._stale: list[str] = []               # host veth ends of exited containers, to delete
        self._settling: asyncio.Task | None = None
        self._dirty = False
        self._nft_script = ""                     # what the table holds, as we last wrote it
        self._forwarding = False
        self._predefined()

    # ---- the predefined networks

    def _predefined(self) -> None:
        have = {n.name: n for n in self.store.networks()}
        for name, driver in (("host", "host"), ("none", "null")):
            if name not in have:
                self.store.insert(Network(os.urandom(32).hex(), name, driver, created=rfc3339()))
        bridge = have.get("bridge")
        if bridge is not None and self.store.endpoints(network_id=bridge.id):
            return  # containers hold leases on it: its addressing stays
        if self.cfg.bip:
            try:
                iface = ipaddress.IPv4Interface(self.cfg.bip)
            except ValueError:
                raise InvalidArgument(f"--bip {self.cfg.bip}: want the gateway's address/prefix") from None
            subnet, gw = str(iface.network), str(iface.ip)
        elif bridge is not None and bridge.bridge == self.cfg.bridge:
            return
        else:
            taken = ipam.host_routes() + [ipaddress.IPv4Network(n.subnet) for n in have.values()
                                          if n.subnet and n.name != "bridge"]
            net = ipam.free_subnet(DEFAULT_BRIDGE_POOLS, taken)
            subnet, gw = str(net), str(net.network_address + 1)
        if bridge is None:
            self.store.insert(Network(os.urandom(32).hex(), "bridge", "bridge", subnet, gw, self.cfg.bridge,
                                      created=rfc3339()))
        else:
            bridge.subnet, bridge.gateway, bridge.bridge = subnet, gw, self.cfg.bridge
            self.store.update_addressing(bridge)

    # ---- networks

    def all(self) -> list[Network]:
        return self.store.networks()

    def get(self, text: str) -> Network:
        return self.store.resolve(text)

    def create(self, name: str, driver: str = "", subnet: str = "", gateway: str = "",
               labels: dict[str, str] | None = None, internal: bool = False) -> Network:
        driver = driver or "bridge"
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        if not name:
            raise InvalidArgument("network name: empty")
        if name in PREDEFINED:
            raise Conflict(f"network with name {name} already exists")
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
        n = Network(nid, name, "bridge", str(net), str(gw), "br-" + nid[:12], internal, dict(labels or {}), rfc3339())
        self.store.insert(n)
        log.info("network created", extra={"network": name, "subnet": n.subnet})
        return n

    def remove(self, text: str) -> Network:
        n = self.get(text)
        if n.predefined:
            raise Conflict(f"{n.name} is a pre-defined network and cannot be removed")
        if self.store.endpoints(network_id=n.id):
            raise Conflict(f"error while removing network: network {n.name} id {n.id} has active endpoints")
        self.store.delete(n.id)
        log.info("network removed", extra={"network": n.name})
        return n

    def prune(self) -> list[str]:
        gone = []
        for n in self.store.networks():
            if not n.predefined and not self.store.endpoints(network_id=n.id):
                self.store.delete(n.id)
                gone.append(n.name)
        return gone

    def inspect_doc(self, n: Network) -> dict:
        containers = {}
        for e in self.store.endpoints(network_id=n.id):
            row = self.store.container(e.container_id)
            if row is None or not e.veth:
                continue
            containers[e.container_id] = {"Name": row["name"], "EndpointID": e.endpoint_id, "MacAddress": e.mac,
                                          "IPv4Address": f"{e.ip}/{n.prefixlen}", "IPv6Address": ""}
        config = [{"Subnet": n.subnet, "Gateway": n.gateway}] if n.subnet else []
        return {"Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
                "EnableIPv6": False, "IPAM": {"Driver": "default", "Options": None, "Config": config},
                "Internal": n.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
                "ConfigOnly": False, "Containers": containers,
                "Options": {"com.docker.network.bridge.name": n.bridge} if n.bridge else {}, "Labels": n.labels}

    # ---- a container's side: create

    def validate(self, mode: str, o, image_config: dict) -> tuple[str, dict]:
        """--network and its companion flags -> (the mode to store, the per-container settings)."""
        mode = mode or "bridge"
        aliases, ip = list(o.network_aliases), o.ip
        publish = [portspec.parse_publish(p) for p in o.publish] + (
            portspec.exposed(image_config) if o.publish_all else [])
        hosts = [_add_host(h) for h in o.add_hosts]
        if mode.startswith("container:"):
            target = self.resolve_container(mode.partition(":")[2])
            if publish:
                raise InvalidArgument("conflicting options: port publishing and the container type network mode")
            if o.dns or o.dns_search or hosts:
                raise InvalidArgument("conflicting options: dns and the network mode")
            mode = "container:" + target
        elif mode in ("host", "none"):
            publish = []  # docker drops them with a warning: nothing to forward to
        else:
            mode = self.get(mode).name
        if (ip or aliases) and (mode in PREDEFINED or mode.startswith("container:")):
            raise InvalidArgument("user specified IP address is supported on user defined networks only" if ip else
                                  "network-scoped alias is supported only for containers in user defined networks")
        return mode, {"aliases": aliases, "ip": ip, "dns": list(o.dns), "dns_search": list(o.dns_search),
                      "add_hosts": [f"{h}:{i}" for h, i in hosts], "ports": [p.dump() for p in publish],
                      "publish_all": bool(o.publish_all)}

    def _new_endpoint(self, cid: str, n: Network, idx: int, aliases: list[str], wanted: str) -> Endpoint:
        used = [e.ip for e in self.store.endpoints(network_id=n.id)]
        ip = ipam.allocate(ipaddress.IPv4Network(n.subnet), ipaddress.IPv4Address(n.gateway), used, wanted)
        e = Endpoint(cid, n.id, str(ip), ipam.mac_for(ip), os.urandom(32).hex(), aliases, idx, "", wanted)
        self.store.insert_endpoint(e)
        return e

    def allocate(self, rec, etc: Path) -> None:
        """At create: the lease on the container's network, and its /etc/hosts and /etc/resolv.conf."""
        s = rec.config.settings
        mode, nc = s.network, s.net
        etc.mkdir(parents=True, exist_ok=True)
        if mode.startswith("container:"):
            source = self.containers_root / mode.partition(":")[2] / "etc"
            for f in ("hosts", "resolv.conf"):
                if (source / f).exists():
                    shutil.copyfile(source / f, etc / f)
            return
        n = self.get(mode)
        ep = self._new_endpoint(rec.id, n, 0, nc.get("aliases", []), nc.get("ip", "")) if n.driver == "bridge" else None
        extra = "".join(f"{ip if ip != 'host-gateway' else (n.gateway or '127.0.0.1')}\t{h}\n"
                        for h, ip in (x.split(":", 1) for x in nc.get("add_hosts", [])))
        if mode == "host":
            try:
                hosts = Path("/etc/hosts").read_text()
            except OSError:
                hosts = BASE_HOSTS
        else:
            hosts = BASE_HOSTS
        hosts += extra + (f"{ep.ip}\t{s.hostname}\n" if ep else "")
        (etc / "hosts").write_text(hosts)
        (etc / "resolv.conf").write_text(self._resolv_conf(n, nc))

    def _resolv_conf(self, n: Network, nc: dict) -> str:
        servers, search, options = _resolv()
        search = nc.get("dns_search") or search
        if n.driver == "bridge" and n.name != "bridge":
            servers, options = [n.gateway], ["ndots:0"]  # our responder, which forwards what is not ours
        elif nc.get("dns"):
            servers = nc["dns"]
        elif n.driver != "host":
            # a loopback resolver of the host is out of the container's reach: docker's fallbacks then
            servers = [s for s in servers if not s.startswith("127.") and s != "::1"] or ["8.8.8.8", "8.8.4.4"]
        text = "".join(f"nameserver {s}\n" for s in servers)
        if search:
            text += "search " + " ".join(search) + "\n"
        if options:
            text += "options " + " ".join(options) + "\n"
        return text

    def netns_path(self, rec) -> str:
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

    async def attach(self, rec, pid: int) -> None:
        """After the shim's Create (the netns exists, nothing runs yet): veths, then published ports."""
        eps = self.store.endpoints(container_id=rec.id)
        if not eps:
            return
        async with self._locked():
            try:
                for e in eps:
                    await self._plug(e, pid)
                self._bind_ports(rec, eps[0])
                await self._sync()
            except BaseException:
                await self._unplug_all(rec.id)
                raise

    async def _plug(self, e: Endpoint, pid: int) -> None:
        from . import links

        n = self.store.network(e.network_id)
        await self._bring_up(n)
        e.veth = "veth" + os.urandom(4).hex()[:7]
        eth = links.Eth(e.veth, f"eth{e.idx}", e.ip, n.prefixlen, e.mac, n.gateway if e.idx == 0 else "")
        await in_thread(links.attach, pid, n.bridge, eth)
        self.store.set_veth(e)

    def _bind_ports(self, rec, primary: Endpoint) -> None:
        taken = self.store.bindings()
        for spec in rec.config.settings.net.get("ports", []):
            p = portspec.PortSpec(**spec)
            host_port = p.host_port or portspec.free_port(p.proto, p.host_ip)
            for b in taken:
                if b.proto == p.proto and b.host_port == host_port and (
                        not b.host_ip or not p.host_ip or b.host_ip == p.host_ip):
                    raise Conflict(f"Bind for {p.host_ip or '0.0.0.0'}:{host_port} failed: port is already allocated")
            if p.host_port:
                portspec.check_free(p.proto, p.host_ip, host_port)
            b = Binding(rec.id, p.proto, p.container_port, p.host_ip, host_port)
            self.store.insert_binding(b)
            taken.append(b)

    async def _unplug_all(self, cid: str) -> None:
        from . import links

        for e in self.store.endpoints(container_id=cid):
            if e.veth:
                try:
                    await in_thread(links.detach, e.veth)
                except OSError as err:
                    log.warning("veth not removed", extra={"id": cid, "veth": e.veth, "error": str(err)})
                e.veth = ""
                self.store.set_veth(e)
        self.store.delete_bindings(cid)
        await self._sync()

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
        self.store.delete_bindings(cid)
        self._dirty = True
        if self._settling is None or self._settling.done():
            self._settling = asyncio.ensure_future(self._settle())

    async def _settle(self) -> None:
        from . import links

        while self._dirty:
            self._dirty = False
            async with self._locked():
                try:
                    while self._stale:
                        await in_thread(links.detach, self._stale.pop())
                    await self._sync()
                except Exception as e:  # noqa: BLE001 - logged; the next _sync retries
                    log.warning("network teardown failed", extra={"error": str(e)})

    async def settle(self) -> None:
        """Wait for the background teardown (before the daemon stops)."""
        if self._settling is not None:
            await asyncio.gather(self._settling, return_exceptions=True)

    # ---- connect and disconnect

    async def connect(self, network: str, container: str, aliases: list[str], ip: str) -> None:
        cid = self.resolve_container(container)
        row = self.store.container(cid)
        n = self.get(network)
        mode = json.loads(row["config"])["settings"]["network"]
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
            e = self._new_endpoint(cid, n, max((x.idx for x in eps), default=-1) + 1, aliases, ip)
            if row["status"] in ("running", "paused") and row["pid"]:
                try:
                    await self._plug(e, row["pid"])
                except BaseException:
                    self.store.delete_endpoint(cid, n.id)
                    raise
                await self._sync()

    async def disconnect(self, network: str, container: str, force: bool = False) -> None:
        from . import links

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
            self.store.delete_endpoint(cid, n.id)
            await self._sync()

    # ---- the kernel side

    async def _bring_up(self, n: Network) -> None:
        from . import links

        if n.id in self._up:
            return
        await in_thread(links.ensure_bridge, n.bridge, n.gateway, n.prefixlen)
        self._up[n.id] = n.bridge
        if n.name != "bridge":  # as docker: names resolve on user networks only
            await self._start_dns(n)

    async def _start_dns(self, n: Network) -> None:
        from . import dns

        if n.id in self._dns:
            return
        try:
            self._dns[n.id] = await dns.serve(n.gateway, self.cfg.dns_port, lambda name: self._lookup(n.id, name),
                                              lambda client: self._upstreams(n, client))
        except OSError as e:
            log.warning("DNS responder not started", extra={"network": n.name, "error": str(e)})

    def _lookup(self, network_id: str, name: str) -> list[str] | None:
        ips = []
        for e in self.store.endpoints(network_id=network_id):
            row = self.store.container(e.container_id) if e.veth else None
            if row is not None and name in {row["name"].lower(), row["id"][:12], *(a.lower() for a in e.aliases)}:
                ips.append(e.ip)
        return ips or None

    def _upstreams(self, n: Network, client: str) -> list[str]:
        from .dns import host_nameservers

        for e in self.store.endpoints(network_id=n.id):
            if e.ip == client and (row := self.store.container(e.container_id)) is not None:
                asked = json.loads(row["config"])["settings"].get("net", {}).get("dns")
                if asked:
                    return asked
        return [s for s in host_nameservers() if s != n.gateway]

    async def _sync(self) -> None:
        """Bridges, DNS responders, the nft table and ip_forward, to what the endpoints say."""
        from . import links

        active = {e.network_id for e in self.store.endpoints() if e.veth}
        nets = {n.id: n for n in self.store.networks()}
        for nid in [i for i in self._up if i not in active]:
            if (t := self._dns.pop(nid, None)) is not None:
                t.close()
            await in_thread(links.delete, self._up.pop(nid))
        if active:
            by_container = {e.container_id: e for e in self.store.endpoints() if e.veth and e.idx == 0}
            dnats = [nft.Dnat(b.proto, b.host_ip, b.host_port, by_container[b.container_id].ip, b.container_port)
                     for b in self.store.bindings() if b.container_id in by_container]
            bridges = [nft.BridgeNat(nets[i].bridge, nets[i].subnet, nets[i].internal) for i in sorted(active)]
            script = nft.render(self.cfg.nft_table, bridges, dnats)
            if not self._forwarding:
                await in_thread(ipforward.claim, self.cfg.nft_table)
                self._forwarding = True
            if script != self._nft_script:
                await in_thread(nft.load, script)
                self._nft_script = script
        else:
            if self._nft_script or await in_thread(nft.exists, self.cfg.nft_table):
                await in_thread(nft.delete, self.cfg.nft_table)
                self._nft_script = ""
            if self._forwarding:
                await in_thread(ipforward.release, self.cfg.nft_table)
                self._forwarding = False

    async def restore(self, running: dict[str, int]) -> None:
        """After a daemon restart: endpoints of containers that died meanwhile are unplugged, the live ones'
        bridges, responders and rules are taken over (the table is rewritten once), the rest removed."""
        from . import links

        async with self._locked():
            for e in self.store.endpoints():
                if e.veth and e.container_id not in running:
                    await in_thread(links.detach, e.veth)
                    e.veth = ""
                    self.store.set_veth(e)
            for b in self.store.bindings():
                if b.container_id not in running:
                    self.store.delete_bindings(b.container_id)
            active = {e.network_id for e in self.store.endpoints() if e.veth}
            for n in self.store.networks():
                if n.id in active:
                    await self._bring_up(n)
                elif n.bridge and links.exists(n.bridge):
                    await in_thread(links.delete, n.bridge)
            self._forwarding = (ipforward.CLAIMS / self.cfg.nft_table).exists()  # a claim of our previous run
            await self._sync()

    def close(self) -> None:
        """Call after settle(). Containers outlive the daemon: their bridges and rules stay; only our responders stop."""
        for t in self._dns.values():
            t.close()
        self._dns.clear()

    # ---- what inspect and `port` show

    def bindings(self, container: str) -> list[Binding]:
        return self.store.bindings(self.resolve_container(container))

    def inspect_parts(self, rec) -> tuple[dict, dict]:
        """(NetworkSettings, HostConfig's network fields) of a container, as docker shows them."""
        s = rec.config.settings
        nc = s.net or {}
        running = rec.status in ("running", "paused")
        ports: dict[str, list | None] = {}
        for p in nc.get("ports", []):
            ports.setdefault(f"{p['container_port']}/{p['proto']}", None)
        for b in self.store.bindings(rec.id):
            ports.setdefault(f"{b.container_port}/{b.proto}", None)
            ports[f"{b.container_port}/{b.proto}"] = (ports[f"{b.container_port}/{b.proto}"] or []) + [
                {"HostIp": b.host_ip or "0.0.0.0", "HostPort": str(b.host_port)}]
        networks = {}
        top = {"Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": "", "EndpointID": ""}
        for e in self.store.endpoints(container_id=rec.id):
            n = self.store.network(e.network_id)
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
                                   "NetworkID": self.get(s.network).id, "EndpointID": "", "Gateway": "",
                                   "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}
        settings = {"Bridge": "", "SandboxID": "", "SandboxKey": f"/proc/{rec.pid}/ns/net" if running and rec.pid else "",
                    "Ports": ports if running else {}, **top, "Networks": networks}
        bindings = {f"{p['container_port']}/{p['proto']}": [] for p in nc.get("ports", [])}
        for p in nc.get("ports", []):
            bindings[f"{p['container_port']}/{p['proto']}"].append(
                {"HostIp": p["host_ip"], "HostPort": str(p["host_port"]) if p["host_port"] else ""})
        host = {"NetworkMode": s.network, "PortBindings": bindings, "PublishAllPorts": nc.get("publish_all", False),
                "Dns": nc.get("dns", []), "DnsSearch": nc.get("dns_search", []), "ExtraHosts": nc.get("add_hosts") or None}
        return settings, host
