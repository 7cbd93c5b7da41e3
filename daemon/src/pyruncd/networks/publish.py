"""Port publishing at start: each of a container's -p/-P gets its host port (a random free one when not
given), refused if another container's binding or a host listener has it, and recorded; sync() turns the
bindings into the nft table's DNAT rules."""

from collections.abc import Iterable
from typing import Any

from ..errors import Conflict
from . import ports as portspec
from .store import Binding, NetworkStore


def bind_ports(store: NetworkStore, container_id: str, specs: Iterable[dict[str, Any]]) -> None:
    """`specs`: the PortSpec.dump()s kept in the container's network settings."""
    taken = store.bindings()
    for spec in specs:
        p = portspec.PortSpec(**spec)
        host_port = p.host_port or portspec.free_port(p.proto, p.host_ip)
        for b in taken:
            if b.proto == p.proto and b.host_port == host_port and (
                    not b.host_ip or not p.host_ip or b.host_ip == p.host_ip):
                raise Conflict(f"Bind for {p.host_ip or '0.0.0.0'}:{host_port} failed: port is already allocated")
        if p.host_port:
            portspec.check_free(p.proto, p.host_ip, host_port)
        b = Binding(container_id, p.proto, p.container_port, p.host_ip, host_port)
        store.insert_binding(b)
        taken.append(b)
