"""The kernel side of the networks: a network's bridge (and its DNS responder) is up while one of its
containers is attached, our nft table exists while any bridge is up, and ip_forward is claimed for as
long; iptables' FORWARD chain accepts the up bridges' traffic (forward.py). sync() brings the kernel to what
the database says, so a restarted daemon converges too; take_over() is that first sync after a restart.
Database calls on the event loop's thread; netlink, nft and iptables calls in worker threads."""

import asyncio
import json
import logging

from ..threads import in_thread
from . import forward, ipforward, links, nft
from .store import Network, NetworkStore

log = logging.getLogger("pyruncd.networks")


class Kernel:
    def __init__(self, store: NetworkStore, *, nft_table: str, dns_port: int):
        self.store = store
        self.nft_table = nft_table
        self.dns_port = dns_port
        self._dns: dict[str, asyncio.DatagramTransport] = {}  # network id -> its responder's transport
        self._up: dict[str, str] = {}             # network id -> the bridge we brought up for it
        self._nft_script = ""                     # what the table holds, as we last wrote it
        self._forwarding = False
        self.forward_chain = forward.chain_name(nft_table)
        self._forward_bridges: list[str] | None = None  # what that chain accepts as we last wrote it; None: unknown

    async def bring_up(self, n: Network) -> None:
        if n.id in self._up:
            return
        await in_thread(links.ensure_bridge, n.bridge, n.gateway, n.prefixlen, n.mtu)
        self._up[n.id] = n.bridge
        if n.name != "bridge":  # as docker: names resolve on user networks only
            await self._start_dns(n)

    async def _start_dns(self, n: Network) -> None:
        from . import dns  # dnslib only once a user network is up

        if n.id in self._dns:
            return
        try:
            self._dns[n.id] = await dns.serve(n.gateway, self.dns_port,
                                              lambda name, client: self._lookup(n.id, name, client),
                                              lambda client: self._upstreams(n, client))
        except OSError as e:
            log.warning("DNS responder not started", extra={"network": n.name, "error": str(e)})

    def _lookup(self, network_id: str, name: str, client: str) -> list[str] | None:
        """As docker's resolver in each container: names on every user network the asking container is on,
        the network asked through first; names on networks it is not on are not ours to answer."""
        asker, nets = self._networks_of(network_id, client)
        if (linked := self._linked(asker, name, nets)) is not None:
            return linked
        for nid in nets:
            ips = []
            for e in self.store.endpoints(network_id=nid):
                row = self.store.container(e.container_id) if e.veth else None
                if row is not None and name in {row["name"].lower(), row["id"][:12], *(a.lower() for a in e.aliases)}:
                    ips.append(e.ip)
            if ips:
                return ips
        return None

    def _networks_of(self, network_id: str, client: str) -> tuple[str, list[str]]:
        """The container at `client` on `network_id` ("" when none is) and its user networks, that one first."""
        asker = next((e.container_id for e in self.store.endpoints(network_id=network_id)
                      if e.ip == client and e.veth), None)
        if asker is None:
            return "", [network_id]
        others = sorted((e for e in self.store.endpoints(container_id=asker)
                         if e.veth and e.network_id != network_id), key=lambda e: e.idx)
        return asker, [network_id] + [e.network_id for e in others
                                      if self.store.network(e.network_id).name != "bridge"]

    def _linked(self, asker: str, name: str, nets: list[str]) -> list[str] | None:
        """--link ALIAS on user networks: for the linking container only, the target's address on the
        first network they share."""
        row = self.store.container(asker) if asker else None
        if row is None:
            return None
        for target, alias in json.loads(row["config"])["settings"].get("net", {}).get("links", []):
            if alias.lower() == name:
                for nid in nets:
                    ips = [e.ip for e in self.store.endpoints(container_id=target, network_id=nid) if e.veth]
                    if ips:
                        return ips
        return None

    def _upstreams(self, n: Network, client: str) -> list[str]:
        from .dns import host_nameservers

        for e in self.store.endpoints(network_id=n.id):
            if e.ip == client and (row := self.store.container(e.container_id)) is not None:
                asked: list[str] | None = json.loads(row["config"])["settings"].get("net", {}).get("dns")
                if asked:
                    return asked
        return [s for s in host_nameservers() if s != n.gateway]

    async def sync(self) -> None:
        """Bridges, DNS responders, the nft table and ip_forward, to what the endpoints say."""
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
            bridges = [nft.BridgeNat(nets[i].bridge, nets[i].subnet, nets[i].internal, nets[i].masquerade)
                       for i in sorted(active)]
            script = nft.render(self.nft_table, bridges, dnats)
            if not self._forwarding:
                await in_thread(ipforward.claim, self.nft_table)
                self._forwarding = True
            if not self._nft_script:
                await in_thread(nft.create, self.nft_table, bridges, dnats)
                self._nft_script = script
            elif script != self._nft_script:
                await in_thread(nft.load, script)
                self._nft_script = script
            await self._accept_forward([b.bridge for b in bridges])
        else:
            if self._nft_script or await self._table_exists():
                await in_thread(nft.delete, self.nft_table)
                self._nft_script = ""
            await self._accept_forward([])
            if self._forwarding:
                await in_thread(ipforward.release, self.nft_table)
                self._forwarding = False

    async def _accept_forward(self, bridges: list[str]) -> None:
        if bridges != self._forward_bridges and await in_thread(forward.write, self.forward_chain, bridges):
            self._forward_bridges = bridges

    async def _table_exists(self) -> bool:
        return await in_thread(nft.exists, self.nft_table)

    async def take_over(self) -> None:
        """After a daemon restart, once the dead containers' endpoints are unplugged: the live ones' bridges
        and responders are ours again, other bridges of ours go, and the table is rewritten once."""
        active = {e.network_id for e in self.store.endpoints() if e.veth}
        for n in self.store.networks():
            if n.id in active:
                await self.bring_up(n)
            elif n.bridge and links.exists(n.bridge):
                await in_thread(links.delete, n.bridge)
        self._forwarding = (ipforward.CLAIMS / self.nft_table).exists()  # a claim of our previous run
        await self.sync()

    def close(self) -> None:
        """Containers outlive the daemon: their bridges and rules stay; only our responders stop."""
        for t in self._dns.values():
            t.close()
        self._dns.clear()
