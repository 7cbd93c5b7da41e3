"""pyruncd's command line: flags as dockerd names them, then the server."""

import argparse
import asyncio
import sys
from pathlib import Path

from .containers.logs import DEFAULT_LOG_OPTS, log_opts_map, parse_log_opts
from .daemon import DEFAULT_HOST, DEFAULT_ROOT, Config
from .errors import InvalidArgument
from .networks.manager import NetConfig


def parse_args(argv: list[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="pyruncd", description="pyruncd: gRPC image and container manager")
    p.add_argument("-H", "--host", default=DEFAULT_HOST, help=f"socket to listen on (default {DEFAULT_HOST})")
    p.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"state directory (default {DEFAULT_ROOT})")
    p.add_argument("--insecure-registry", action="append", default=[], dest="insecure",
                   help="registry host[:port] reached over plain HTTP (repeatable)")
    p.add_argument("--cgroup-parent", default="/pyruncd",
                   help="cgroup that holds every container's cgroup (default /pyruncd)")
    p.add_argument("-b", "--bridge", default="pyrunc0", help="the default bridge network's Linux bridge (default pyrunc0)")
    p.add_argument("--bip", default="", help="the default bridge's gateway address/prefix (default: a free /16 of 172.18-31)")
    p.add_argument("--default-address-pool", action="append", default=[], dest="pools",
                   help="where user networks' subnets come from: base=CIDR,size=N (repeatable)")
    p.add_argument("--nft-table", default="pyruncd", help="our nftables table (ip family; default pyruncd)")
    p.add_argument("--log-opt", action="append", default=[], dest="log_opts",
                   help="containers' default json-file log option KEY=VALUE (repeatable; default max-size=20m, "
                        "max-file=5: 100 MB per container at most)")
    p.add_argument("-l", "--log-level", default="info", choices=["debug", "info", "warning", "error"])
    a = p.parse_args(argv)
    if not 0 < len(a.bridge) <= 15:
        p.error(f"--bridge {a.bridge!r}: a Linux interface name has 1 to 15 characters")
    if not a.host.startswith("unix://") or a.host == "unix://":
        p.error(f"--host {a.host!r}: want unix:///path/to/socket")
    log_opts = {**DEFAULT_LOG_OPTS, **log_opts_map(a.log_opts)}
    try:
        parse_log_opts(log_opts)
    except InvalidArgument as e:
        p.error(f"--log-opt: {e}")
    return Config(root=a.root.resolve(), host=a.host, insecure_registries=a.insecure, log_level=a.log_level,
                  cgroup_parent=a.cgroup_parent, log_opts=log_opts,
                  network=NetConfig(bridge=a.bridge, bip=a.bip, address_pools=a.pools, nft_table=a.nft_table))


def _raise_open_files_limit() -> None:
    """Each running container holds 4-5 of the daemon's descriptors (its FIFOs, a pidfd, its shim's event
    connection): the soft limit goes up to the hard one, as Go does for containerd and dockerd, so a
    systemd default of 1024 does not stop the daemon near 200 containers."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    from . import log
    from .errors import PyruncdError
    from .server import serve

    log.setup(cfg.log_level)
    _raise_open_files_limit()
    try:
        asyncio.run(serve(cfg))
    except PyruncdError as e:
        print(f"pyruncd: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
