"""Kernel side of a bridge network, over netlink (pyroute2): bridges, veth pairs, the container's eth.
Blocking calls: run them in a worker thread. pyroute2 is imported here only (~170 ms)."""

import errno
import os
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast


class _Netlink(Protocol):
    """The part of pyroute2's IPRoute we use (pyroute2 has no type information)."""

    def link_lookup(self, *, ifname: str) -> list[int]: ...
    def link(self, command: str, **kw: Any) -> object: ...
    def addr(self, command: str, **kw: Any) -> object: ...
    def get_addr(self, **kw: Any) -> list[Any]: ...
    def route(self, command: str, **kw: Any) -> object: ...
    def close(self) -> None: ...


def _ipr() -> _Netlink:
    from pyroute2 import IPRoute

    return cast(_Netlink, IPRoute())


_CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _ipr_in(pid: int) -> _Netlink:
    """A netlink socket inside the netns of `pid`. Opened from this thread after setns (the socket keeps
    its namespace), rather than with pyroute2's NetNS, which forks: a forked child of the daemon would
    share asyncio's signal wake-up fd, and its end would look like a SIGTERM to our event loop."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                return _ipr()
            finally:
                _setns(own)
        finally:
            os.close(target)
    finally:
        os.close(own)


def _index(ipr: _Netlink, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = 0) -> None:
    """The bridge, up, with the gateway address; route_localnet on it alone, for DNAT from 127.0.0.1.
    `mtu` 0: the kernel's default."""
    with closing(_ipr()) as ipr:
        idx = _index(ipr, name)
        if idx is None:
            ipr.link("add", ifname=name, kind="bridge", **({"mtu": mtu} if mtu else {}))
            idx = _index(ipr, name)
        addrs = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in ipr.get_addr(index=idx, family=2)}
        if (gateway, prefixlen) not in addrs:
            ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")
    Path(f"/proc/sys/net/ipv4/conf/{name}/route_localnet").write_text("1")


def delete(name: str) -> None:
    """The link, if there; one that goes meanwhile (a dying netns takes its veth pairs) is gone all the same."""
    with closing(_ipr()) as ipr:
        idx = _index(ipr, name)
        if idx is not None:
            try:
                ipr.link("del", index=idx)
            except Exception as e:  # pyroute2's NetlinkError is no OSError: its errno is `code`
                if getattr(e, "code", None) != errno.ENODEV:
                    raise


@dataclass(frozen=True)
class Eth:
    """One interface in a container: the host end's name, and what the container end gets."""
    host: str
    ifname: str
    ip: str
    prefixlen: int
    mac: str
    gateway: str       # "" when this interface is not the default route
    mtu: int = 0       # 0: the kernel's default


def attach(pid: int, bridge: str, eth: Eth) -> None:
    """A veth pair: one end on the bridge, the other born inside the netns of `pid` as eth.ifname (moving
    an existing link across namespaces costs the kernel an RCU grace period, ~25 ms). The host end is
    born on the bridge and up, the other with its MAC: setting them afterwards took five more requests
    (lookups, master, up, address), about half of this call's time."""
    with closing(_ipr()) as ipr:
        mtu = {"mtu": eth.mtu} if eth.mtu else {}
        ipr.link("add", ifname=eth.host, kind="veth", master=_index(ipr, bridge), state="up",
                 peer={"ifname": eth.ifname, "net_ns_pid": pid, "address": eth.mac, **mtu}, **mtu)
        try:
            with closing(_ipr_in(pid)) as ns:
                idx = _index(ns, eth.ifname)
                ns.addr("add", index=idx, address=eth.ip, prefixlen=eth.prefixlen)
                ns.link("set", index=idx, state="up")
                ns.link("set", index=_index(ns, "lo"), state="up")
                if eth.gateway:
                    ns.route("add", dst="default", gateway=eth.gateway)
        except BaseException:
            if (idx := _index(ipr, eth.host)) is not None:
                ipr.link("del", index=idx)
            raise


def detach(host: str) -> None:
    """Delete the host end (the container end goes with it); gone already if the netns died."""
    if exists(host):
        delete(host)

