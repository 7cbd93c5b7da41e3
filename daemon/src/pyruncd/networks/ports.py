"""-p and -P: published ports as docker parses them, and free host ports. Pure logic but the bind probes."""

import errno
import ipaddress
import socket
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import Conflict, InvalidArgument


@dataclass(frozen=True)
class PortSpec:
    """One -p: host_port 0 means a random free one, host_ip "" means every address."""
    proto: str
    container_port: int
    host_ip: str = ""
    host_port: int = 0

    @property
    def key(self) -> str:
        return f"{self.container_port}/{self.proto}"

    def dump(self) -> dict[str, Any]:
        return asdict(self)


def _port(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidArgument(f"invalid {what}: {text}")
    return int(text)


def parse_publish(text: str) -> PortSpec:
    """[ip:][hostPort:]containerPort[/tcp|udp]"""
    rest, _, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    ip = ""
    if rest.startswith("["):
        raise InvalidArgument(f"invalid publish {text!r}: IPv6 is not supported")
    parts = rest.rsplit(":", 2)
    if len(parts) == 3:
        ip, host, cont = parts
    elif len(parts) == 2:
        host, cont = parts
    else:
        host, cont = "", parts[0]
    if ip:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidArgument(f"invalid IP address: {ip}") from None
    if "-" in host or "-" in cont:
        raise InvalidArgument(f"invalid publish {text!r}: port ranges are not supported")
    return PortSpec(proto, _port(cont, "containerPort"), ip, _port(host, "hostPort") if host else 0)


def exposed(image_config: dict[str, Any]) -> list[PortSpec]:
    """-P: every port of the image's ExposedPorts ("80/tcp": {}), each on a random host port."""
    out = []
    for key in sorted((image_config.get("config") or {}).get("ExposedPorts") or {}):
        port, _, proto = key.partition("/")
        if port.isdigit():
            out.append(PortSpec(proto or "tcp", int(port)))
    return out


def _kind(proto: str) -> int:
    return socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM


def free_port(proto: str, host_ip: str) -> int:
    """A port the kernel says is free now (bound then released)."""
    with socket.socket(socket.AF_INET, _kind(proto)) as s:
        s.bind((host_ip or "0.0.0.0", 0))
        port: int = s.getsockname()[1]
        return port


def check_free(proto: str, host_ip: str, port: int) -> None:
    """A host process listening there would shadow the rule's traffic: refuse, as docker's proxy would."""
    with socket.socket(socket.AF_INET, _kind(proto)) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no listener
        try:
            s.bind((host_ip or "0.0.0.0", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise Conflict(f"Bind for {host_ip or '0.0.0.0'}:{port} failed: port is already allocated") from None
            raise InvalidArgument(f"listen {proto} {host_ip or '0.0.0.0'}:{port}: {e.strerror}") from None
