"""Limits, restart and health flags of create/run; `pyctl update` and `pyctl stats`.

Flags go to the daemon as typed (it parses and checks them); the one exception is
--security-opt seccomp=PATH, whose file the client reads and sends as JSON, as docker's does.
"""

from __future__ import annotations

import argparse
import sys
import time

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import ContainerStats

    from ..api.types import ContainerConfig, ResourceUpdate


def add_create_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--memory", default="", help="memory limit (512m, 1g)")
    p.add_argument("--memory-swap", default="", help="memory + swap limit; -1 for unlimited swap")
    p.add_argument("--cpus", default="", help="number of CPUs (1.5)")
    p.add_argument("-c", "--cpu-shares", default="", help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", default="", help="CPUs to run on (0-3, 0,1)")
    p.add_argument("--pids-limit", default="", help="process count limit (-1 for unlimited)")
    p.add_argument("--ulimit", action="append", default=[], help="ulimit: name=soft[:hard]")
    p.add_argument("--cap-add", action="append", default=[], help="add a Linux capability (or ALL)")
    p.add_argument("--cap-drop", action="append", default=[], help="drop a Linux capability (or ALL)")
    p.add_argument("--privileged", action="store_true", help="every capability and device, no seccomp")
    p.add_argument("--read-only", action="store_true", help="mount the root filesystem read-only")
    p.add_argument("--security-opt", action="append", default=[],
                   help="seccomp=unconfined|PATH, no-new-privileges")
    p.add_argument("--device", action="append", default=[], help="add a host device: /dev/x[:/dev/y][:rwm]")
    p.add_argument("--restart", default="", help="no, on-failure[:N], always, unless-stopped")
    p.add_argument("--health-cmd", default="", help="command to check health")
    p.add_argument("--health-interval", default="", help="time between checks (default 30s)")
    p.add_argument("--health-timeout", default="", help="longest a check may run (default 30s)")
    p.add_argument("--health-retries", default="", help="failures in a row to be unhealthy (default 3)")
    p.add_argument("--health-start-period", default="", help="time to start before failures count")
    p.add_argument("--no-healthcheck", action="store_true", help="disable the image's HEALTHCHECK")


def _security_opts(opts: list[str]) -> list[str]:
    out = []
    for o in opts:
        key, eq, value = o.partition("=")
        if key == "seccomp" and eq and value != "unconfined":
            try:
                with open(value) as f:
                    value = f.read()
            except OSError as e:
                raise CLIError(f"opening seccomp profile ({value}) failed: {e.strerror}", 125) from None
            o = f"seccomp={value}"
        out.append(o)
    return out


def config_fields(args: argparse.Namespace) -> ContainerConfig:
    """The ContainerConfig fields 40-59 from create/run's arguments."""
    return {"memory": args.memory, "memory_swap": args.memory_swap, "cpus": args.cpus,
            "cpu_shares": args.cpu_shares, "cpuset_cpus": args.cpuset_cpus, "pids_limit": args.pids_limit,
            "ulimits": args.ulimit, "cap_add": args.cap_add, "cap_drop": args.cap_drop,
            "privileged": args.privileged, "read_only": args.read_only,
            "security_opt": _security_opts(args.security_opt), "devices": args.device, "restart": args.restart,
            "health_cmd": args.health_cmd, "health_interval": args.health_interval,
            "health_timeout": args.health_timeout, "health_retries": args.health_retries,
            "health_start_period": args.health_start_period, "no_healthcheck": args.no_healthcheck}


def check_run(args: argparse.Namespace) -> None:
    """docker's client-side check, before anything is created."""
    if getattr(args, "rm", False) and args.restart and args.restart != "no":
        raise CLIError("Conflicting options: --restart and --rm", 125)


def status_suffix(doc: dict[str, Any]) -> str:
    """ps's " (healthy)" / " (health: starting)" from an inspect document (Any: JSON)."""
    health = (doc.get("State") or {}).get("Health")
    if not health:
        return ""
    return " (health: starting)" if health["Status"] == "starting" else f" ({health['Status']})"


# ---- update


def update(api: Api, args: argparse.Namespace) -> int:
    resources: ResourceUpdate = {"memory": args.memory, "memory_swap": args.memory_swap, "cpus": args.cpus,
                                 "cpu_shares": args.cpu_shares, "cpuset_cpus": args.cpuset_cpus,
                                 "pids_limit": args.pids_limit, "restart": args.restart}
    if not any(resources.values()):
        raise CLIError("you must provide one or more flags when using this command")
    return output.each(args.containers, lambda name: api.containers.update(name, resources))


def add_update(p: argparse.ArgumentParser) -> None:
    p.add_argument("-m", "--memory", default="", help="memory limit")
    p.add_argument("--memory-swap", default="", help="memory + swap limit; -1 for unlimited swap")
    p.add_argument("--cpus", default="", help="number of CPUs")
    p.add_argument("-c", "--cpu-shares", default="", help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", default="", help="CPUs to run on")
    p.add_argument("--pids-limit", default="", help="process count limit (-1 for unlimited)")
    p.add_argument("--restart", default="", help="restart policy")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=update)


# ---- stats


def cpu_percent(prev: ContainerStats | None, cur: ContainerStats) -> float:
    """docker's calculateCPUPercentUnix: the container's share of the host's CPU time, times online CPUs."""
    if prev is None:
        return 0.0
    d_cpu = cur.cpu_total_ns - prev.cpu_total_ns
    d_sys = cur.system_ns - prev.system_ns
    if d_cpu <= 0 or d_sys <= 0:
        return 0.0
    return d_cpu / d_sys * (cur.online_cpus or 1) * 100.0


def row(prev: ContainerStats | None, cur: ContainerStats, no_trunc: bool = False) -> dict[str, str]:
    mem_pct = cur.mem_usage / cur.mem_limit * 100 if cur.mem_limit else 0.0
    return {"ID": cur.id if no_trunc else cur.id[:12], "Name": cur.name, "CPUPerc": f"{cpu_percent(prev, cur):.2f}%",
            "MemUsage": f"{output.binary_size(cur.mem_usage)} / {output.binary_size(cur.mem_limit)}",
            "MemPerc": f"{mem_pct:.2f}%",
            "NetIO": f"{output.human_size(cur.net_rx, 3)} / {output.human_size(cur.net_tx, 3)}",
            "BlockIO": f"{output.human_size(cur.blk_read, 3)} / {output.human_size(cur.blk_write, 3)}",
            "PIDs": str(cur.pids)}


HEADERS = ["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"]
KEYS = ["ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs"]


def _render(rows: list[dict[str, str]], fmt: str, out: TextIO) -> None:
    import json

    if fmt == "json":
        for r in rows:
            out.write(json.dumps({**r, "Container": r["ID"]}) + "\n")
    elif fmt:
        for r in rows:
            out.write(output.template(fmt, {**r, "Container": r["ID"]}) + "\n")
    else:
        output.table(HEADERS, [[r[k] for k in KEYS] for r in rows], out=out)


def stats(api: Api, args: argparse.Namespace) -> int:
    def sample() -> dict[str, ContainerStats]:
        try:
            return {s.id: s for s in api.containers.stats(args.containers)}
        except ApiError as e:
            raise CLIError(f"Error response from daemon: {e.message}") from None

    prev = sample()
    if args.no_stream:
        time.sleep(0.5)  # a second sample, so CPU % has a delta to come from
        cur = sample()
        _render([row(prev.get(i), s, args.no_trunc) for i, s in cur.items()], args.format, sys.stdout)
        return 0
    while True:
        time.sleep(1)
        cur = sample()
        sys.stdout.write("\033[2J\033[H")  # docker redraws the table in place
        _render([row(prev.get(i), s, args.no_trunc) for i, s in cur.items()], args.format, sys.stdout)
        sys.stdout.flush()
        prev = cur


def add_stats(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-stream", action="store_true", help="print one sample and exit")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("--format", default="", help="json, or a {{.Field}} template (.Name .CPUPerc .MemUsage ...)")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    p.set_defaults(func=stats)
