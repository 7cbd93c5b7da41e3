"""The DNS responder of a user network: on its gateway's port 53 (UDP), A records for containers by name
and alias (those on any network the asker is on: kernel.py's lookup; several containers under one alias
answer in turn), the rest forwarded to the asking container's --dns servers or else the host's."""

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from dnslib import QTYPE, RCODE, RR, A, DNSRecord

log = logging.getLogger("pyruncd.networks.dns")
TTL = 600
FORWARD_TIMEOUT = 3.0


def host_nameservers(path: Path = Path("/etc/resolv.conf")) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [f[1] for f in (line.split() for line in lines) if len(f) >= 2 and f[0] == "nameserver"]


Lookup = Callable[[str, str], list[str] | None]   # (name, the asking client's address)
Upstreams = Callable[[str], list[str]]
Address = tuple[str | Any, int]   # asyncio's type for a datagram's peer


class Responder(asyncio.DatagramProtocol):
    """`lookup(name, client ip)` -> the addresses of that name for that client (None: not ours);
    `upstreams(client ip)` -> where to forward other names."""

    def __init__(self, lookup: Lookup, upstreams: Upstreams):
        self.lookup = lookup
        self.upstreams = upstreams
        self.transport: asyncio.DatagramTransport | None = None
        self._turn: dict[str, int] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: Address) -> None:
        try:
            q = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - dnslib raises several kinds on garbage; drop it as a server does
            return
        if not q.questions:
            return
        name = str(q.q.qname).rstrip(".").lower()
        ips = self.lookup(name, addr[0])
        if ips is None:
            asyncio.ensure_future(self._forward(data, addr, q))
            return
        reply = q.reply()
        if q.q.qtype in (QTYPE.A, QTYPE.ANY) and ips:
            n = self._turn[name] = self._turn.get(name, -1) + 1  # round-robin: each answer starts one later
            for ip in ips[n % len(ips):] + ips[:n % len(ips)]:
                reply.add_answer(RR(q.q.qname, QTYPE.A, rdata=A(ip), ttl=TTL))
        self._send(reply.pack(), addr)

    def _send(self, data: bytes, addr: Address) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, addr)

    async def _forward(self, data: bytes, addr: Address, q: DNSRecord) -> None:
        for server in self.upstreams(addr[0]):
            try:
                self._send(await asyncio.wait_for(_ask(server, data), FORWARD_TIMEOUT), addr)
                return
            except (OSError, TimeoutError):
                continue
        reply = q.reply()
        reply.header.rcode = RCODE.SERVFAIL
        self._send(reply.pack(), addr)


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, got: asyncio.Future[bytes]):
        self.got = got

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if not self.got.done():
            self.got.set_result(data)


async def _ask(server: str, query: bytes) -> bytes:
    """One query to an upstream server, its first answer back."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Answer(got), remote_addr=(server, 53))
    try:
        transport.sendto(query)
        return await got
    finally:
        transport.close()


async def serve(ip: str, port: int, lookup: Lookup, upstreams: Upstreams) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: Responder(lookup, upstreams), local_addr=(ip, port))
    return transport
