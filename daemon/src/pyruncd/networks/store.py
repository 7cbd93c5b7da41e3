"""Networks, their endpoints (one per container and network: the address lease) and published ports, in meta.db."""

import json
import re
import sqlite3
from dataclasses import dataclass, field

from ..errors import Conflict, NotFound

PREDEFINED = ("bridge", "host", "none")
BRIDGE_NAME = "com.docker.network.bridge.name"
MTU = "com.docker.network.driver.mtu"
MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"


@dataclass
class Network:
    id: str
    name: str
    driver: str            # bridge, host or null
    subnet: str = ""
    gateway: str = ""
    bridge: str = ""       # the Linux bridge's name
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    created: str = ""
    options: dict[str, str] = field(default_factory=dict)   # the driver's, as `network create -o` gave them

    @property
    def mtu(self) -> int:
        """com.docker.network.driver.mtu; 0: the kernel's default."""
        return int(self.options.get(MTU, 0) or 0)

    @property
    def masquerade(self) -> bool:
        return self.options.get(MASQUERADE, "true") not in ("0", "f", "F", "FALSE", "false", "False")

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def prefixlen(self) -> int:
        return int(self.subnet.partition("/")[2] or 0)


@dataclass
class Endpoint:
    container_id: str
    network_id: str
    ip: str
    mac: str
    endpoint_id: str
    aliases: list[str] = field(default_factory=list)
    idx: int = 0           # eth<idx> in the container; 0 holds the default route
    veth: str = ""         # the host end while attached, else ""
    ip_asked: str = ""     # --ip / connect --ip, as given


@dataclass(frozen=True)
class Binding:
    container_id: str
    proto: str
    container_port: int
    host_ip: str
    host_port: int


class NetworkStore:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @staticmethod
    def _net(r: sqlite3.Row) -> Network:
        return Network(r["id"], r["name"], r["driver"], r["subnet"], r["gateway"], r["bridge"], bool(r["internal"]),
                       json.loads(r["labels"]), r["created"], json.loads(r["options"]))

    @staticmethod
    def _ep(r: sqlite3.Row) -> Endpoint:
        return Endpoint(r["container_id"], r["network_id"], r["ip"], r["mac"], r["endpoint_id"],
                        json.loads(r["aliases"]), r["idx"], r["veth"], r["ip_asked"])

    # networks

    def networks(self) -> list[Network]:
        return [self._net(r) for r in self.conn.execute("SELECT * FROM networks ORDER BY created")]

    def network(self, network_id: str) -> Network:
        r = self.conn.execute("SELECT * FROM networks WHERE id=?", (network_id,)).fetchone()
        if r is None:
            raise NotFound(f"network {network_id} not found")
        return self._net(r)

    def resolve(self, text: str) -> Network:
        """A name, a full id or a unique id prefix, as docker looks networks up."""
        r = self.conn.execute("SELECT * FROM networks WHERE name=? OR id=?", (text, text)).fetchone()
        if r is None and re.fullmatch(r"[0-9a-f]+", text or "-"):
            rows = self.conn.execute("SELECT * FROM networks WHERE id LIKE ?", (text + "%",)).fetchall()
            if len(rows) > 1:
                raise Conflict(f"network {text} is ambiguous ({len(rows)} matches found based on ID prefix)")
            r = rows[0] if rows else None
        if r is None:
            raise NotFound(f"network {text} not found")
        return self._net(r)

    def insert(self, n: Network) -> None:
        try:
            self.conn.execute("INSERT INTO networks(id, name, driver, subnet, gateway, bridge, internal, labels, created,"
                              " options) VALUES (?,?,?,?,?,?,?,?,?,?)",
                              (n.id, n.name, n.driver, n.subnet, n.gateway, n.bridge, int(n.internal),
                               json.dumps(n.labels), n.created, json.dumps(n.options)))
        except sqlite3.IntegrityError:
            raise Conflict(f"network with name {n.name} already exists") from None

    def update_addressing(self, n: Network) -> None:
        self.conn.execute("UPDATE networks SET subnet=?, gateway=?, bridge=? WHERE id=?",
                          (n.subnet, n.gateway, n.bridge, n.id))

    def delete(self, network_id: str) -> None:
        self.conn.execute("DELETE FROM networks WHERE id=?", (network_id,))

    # endpoints

    def endpoints(self, *, container_id: str = "", network_id: str = "") -> list[Endpoint]:
        sql = "SELECT * FROM endpoints WHERE 1"
        args: list[str] = []
        if container_id:
            sql, args = sql + " AND container_id=?", [*args, container_id]
        if network_id:
            sql, args = sql + " AND network_id=?", [*args, network_id]
        return [self._ep(r) for r in self.conn.execute(sql + " ORDER BY container_id, idx", args)]

    def insert_endpoint(self, e: Endpoint) -> None:
        try:
            self.conn.execute("INSERT INTO endpoints(container_id, network_id, ip, mac, endpoint_id, aliases, idx, veth,"
                              " ip_asked) VALUES (?,?,?,?,?,?,?,?,?)",
                              (e.container_id, e.network_id, e.ip, e.mac, e.endpoint_id, json.dumps(e.aliases), e.idx,
                               e.veth, e.ip_asked))
        except sqlite3.IntegrityError:
            raise Conflict(f"Address already in use: {e.ip}") from None

    def set_veth(self, e: Endpoint) -> None:
        self.conn.execute("UPDATE endpoints SET veth=? WHERE container_id=? AND network_id=?",
                          (e.veth, e.container_id, e.network_id))

    def delete_endpoint(self, container_id: str, network_id: str) -> None:
        self.conn.execute("DELETE FROM endpoints WHERE container_id=? AND network_id=?", (container_id, network_id))

    def delete_endpoints(self, container_id: str) -> None:
        self.conn.execute("DELETE FROM endpoints WHERE container_id=?", (container_id,))

    # published ports

    def bindings(self, container_id: str = "") -> list[Binding]:
        sql = "SELECT * FROM port_bindings" + (" WHERE container_id=?" if container_id else "")
        rows = self.conn.execute(sql + " ORDER BY container_port, proto", (container_id,) if container_id else ())
        return [Binding(r["container_id"], r["proto"], r["container_port"], r["host_ip"], r["host_port"]) for r in rows]

    def insert_binding(self, b: Binding) -> None:
        self.conn.execute("INSERT INTO port_bindings(container_id, proto, container_port, host_ip, host_port)"
                          " VALUES (?,?,?,?,?)", (b.container_id, b.proto, b.container_port, b.host_ip, b.host_port))

    def delete_bindings(self, container_id: str) -> None:
        self.conn.execute("DELETE FROM port_bindings WHERE container_id=?", (container_id,))

    # what the DNS responder and inspect need of containers

    def container(self, container_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute("SELECT id, name, config, status, pid FROM containers WHERE id=?",
                                 (container_id,)).fetchone()
        return row
