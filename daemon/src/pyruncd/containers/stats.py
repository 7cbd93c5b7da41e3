"""`pyctl stats` samples: the shim's cgroup metrics plus what docker adds (host CPU time, network, block I/O).

The CPU percentage needs two samples; the client makes it from the deltas, as docker's does
from precpu_stats.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from pyrunc_proto.containerd.cgroups.v1 import metrics_pb2

TICK_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    cpu_total_ns: int = 0
    system_ns: int = 0
    online_cpus: int = 0
    mem_usage: int = 0
    mem_limit: int = 0
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0
    pids: int = 0


def system_ns() -> int:
    """The host's CPU time: /proc/stat's cpu line, user to steal, in nanoseconds (docker's getSystemCPUUsage)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu "):
                return sum(int(x) for x in line.split()[1:8]) * TICK_NS
    return 0


def host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def network(pid: int) -> tuple[int, int]:
    """Bytes received and sent on the container's interfaces but lo (its netns's /proc/net/dev)."""
    rx = tx = 0
    try:
        lines = Path(f"/proc/{pid}/net/dev").read_text().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, data = line.partition(":")
        if name.strip() == "lo":
            continue
        fields = data.split()
        rx, tx = rx + int(fields[0]), tx + int(fields[8])
    return rx, tx


def block_io(cgroup: Path) -> tuple[int, int]:
    """Read and Write bytes from the v1 blkio cgroup (the shim's metrics leave blkio out)."""
    read = write = 0
    for name in ("blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"):
        try:
            text = (cgroup / name).read_text()
        except OSError:
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "Read":
                read += int(parts[2])
            elif len(parts) == 3 and parts[1] == "Write":
                write += int(parts[2])
        break
    return read, write


def sample(metrics: bytes, pid: int, blkio_cgroup: Path, host_network: bool) -> Sample:
    m = metrics_pb2.Metrics.FromString(metrics)
    s = Sample(cpu_total_ns=m.cpu.usage.total, system_ns=system_ns(),
               online_cpus=len(m.cpu.usage.per_cpu) or os.cpu_count() or 1, pids=m.pids.current)
    usage = m.memory.usage.usage
    # docker's CLI: the page cache the kernel may drop does not count as used
    inactive = m.memory.total_inactive_file
    s.mem_usage = usage - inactive if inactive < usage else usage
    host = host_memory()
    s.mem_limit = m.memory.usage.limit if 0 < m.memory.usage.limit < host else host
    if not host_network:
        s.net_rx, s.net_tx = network(pid)
    s.blk_read, s.blk_write = block_io(blkio_cgroup)
    return s
