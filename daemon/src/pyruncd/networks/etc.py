"""A container's /etc/hosts and /etc/resolv.conf, written at create from its network and flags."""

import shutil
from pathlib import Path
from typing import Any

from .store import Network

BASE_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
              "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


def host_resolv(path: Path = Path("/etc/resolv.conf")) -> tuple[list[str], list[str], list[str]]:
    """The host's nameservers, search domains and options."""
    ns: list[str] = []
    search: list[str] = []
    options: list[str] = []
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


def copy_from(source: Path, etc: Path) -> None:
    """`--network container:NAME`: the target's files."""
    for f in ("hosts", "resolv.conf"):
        if (source / f).exists():
            shutil.copyfile(source / f, etc / f)


def write(etc: Path, n: Network, nc: dict[str, Any], hostname: str, ip: str, *, host_network: bool,
          linked: list[tuple[str, str]] | None = None) -> None:
    """`ip`: the container's address on `n`, "" when it has none (host, none); `host_network`: the
    container shares the host's, and starts from the host's /etc/hosts; `linked`: (address, names)
    of the --link targets on the default bridge, as docker's legacy links write them."""
    extra = "".join(f"{addr if addr != 'host-gateway' else (n.gateway or '127.0.0.1')}\t{h}\n"
                    for h, addr in (x.split(":", 1) for x in nc.get("add_hosts", [])))
    extra += "".join(f"{addr}\t{names}\n" for addr, names in linked or [])
    if host_network:
        try:
            hosts = Path("/etc/hosts").read_text()
        except OSError:
            hosts = BASE_HOSTS
    else:
        hosts = BASE_HOSTS
    hosts += extra + (f"{ip}\t{hostname}\n" if ip else "")
    (etc / "hosts").write_text(hosts)
    (etc / "resolv.conf").write_text(resolv_conf(n, nc))


def resolv_conf(n: Network, nc: dict[str, Any]) -> str:
    servers, search, options = host_resolv()
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
