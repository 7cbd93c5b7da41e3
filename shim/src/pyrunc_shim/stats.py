"""Task metrics from the container's cgroup v1 files, as io.containerd.cgroups.v1.Metrics fields.

Read the way containerd's cgroups library does: cpuacct.stat is in clock ticks (USER_HZ),
"max" limits read as 0, absent controllers leave their section out.
"""

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from typing import Literal

    from pyrunc_proto.messages import io_containerd_cgroups_v1_BlkIOEntry_Fields as BlkIOEntry
    from pyrunc_proto.messages import io_containerd_cgroups_v1_BlkIOStat_Fields as BlkIOStat
    from pyrunc_proto.messages import io_containerd_cgroups_v1_CPUUsage_Fields as CPUUsage
    from pyrunc_proto.messages import io_containerd_cgroups_v1_MemoryEntry_Fields as MemoryEntry
    from pyrunc_proto.messages import io_containerd_cgroups_v1_MemoryStat_Fields as MemoryStat
    from pyrunc_proto.messages import io_containerd_cgroups_v1_Metrics_Fields as Metrics

ROOT = "/sys/fs/cgroup"
TICKS_NS = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
# memory.stat key -> MemoryStat field, where they differ
MEMORY_STAT_NAMES = {"pgpgin": "pg_pg_in", "pgpgout": "pg_pg_out", "pgfault": "pg_fault",
                     "pgmajfault": "pg_maj_fault", "hierarchical_memsw_limit": "hierarchical_swap_limit"}


def cgroup_paths(pid: int) -> dict[str, str]:
    """controller -> directory of pid's v1 cgroup."""
    paths = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(","):
                if c:
                    paths[c] = f"{ROOT}/{c}{path}"
    return paths


def _read(directory: str, name: str) -> str | None:
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read()
    except OSError:
        return None


def _uint(text: str | None) -> int:
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0


def _pairs(text: str | None) -> dict[str, int]:
    out = {}
    for line in (text or "").splitlines():
        key, _, value = line.partition(" ")
        out[key] = _uint(value)
    return out


def _memory_entry(d: str, prefix: str) -> "MemoryEntry | None":
    if _read(d, prefix + "usage_in_bytes") is None:
        return None
    return {"limit": _uint(_read(d, prefix + "limit_in_bytes")), "usage": _uint(_read(d, prefix + "usage_in_bytes")),
            "max": _uint(_read(d, prefix + "max_usage_in_bytes")), "failcnt": _uint(_read(d, prefix + "failcnt"))}


# BlkIOStat field -> blkio file, as containerd's cgroups library reads them: CFQ's where the
# kernel has them, then the throttle policy's (always there) appended to the same fields
BLKIO_CFQ = (("sectors_recursive", "sectors_recursive"), ("io_service_bytes_recursive", "io_service_bytes_recursive"),
             ("io_serviced_recursive", "io_serviced_recursive"), ("io_queued_recursive", "io_queued_recursive"),
             ("io_service_time_recursive", "io_service_time_recursive"),
             ("io_wait_time_recursive", "io_wait_time_recursive"), ("io_merged_recursive", "io_merged_recursive"),
             ("io_time_recursive", "time_recursive"))
BLKIO_THROTTLE = (("io_serviced_recursive", "throttle.io_serviced"),
                  ("io_service_bytes_recursive", "throttle.io_service_bytes"))


def _device_name(major: int, minor: int, names: dict[tuple[int, int], str]) -> str:
    key = (major, minor)
    if key not in names:
        uevent = _read(f"/sys/dev/block/{major}:{minor}", "uevent") or ""
        dev = next((line[8:] for line in uevent.splitlines() if line.startswith("DEVNAME=")), "")
        names[key] = f"/dev/{dev}" if dev else ""
    return names[key]


def blkio(d: str) -> "BlkIOStat":
    """Lines "MAJ:MIN Op value" (and a device-less "Total value", skipped) per file."""
    out: dict[str, list[BlkIOEntry]] = {}
    names: dict[tuple[int, int], str] = {}
    files = (BLKIO_CFQ if os.path.exists(os.path.join(d, "blkio.io_serviced_recursive")) else ()) + BLKIO_THROTTLE
    for field, name in files:
        for line in (_read(d, "blkio." + name) or "").splitlines():
            fields = line.split()
            if len(fields) < 2 or ":" not in fields[0]:
                continue
            major, _, minor = fields[0].partition(":")
            if not (major.isdigit() and minor.isdigit()):
                continue
            entry: BlkIOEntry = {"device": _device_name(int(major), int(minor), names), "major": int(major),
                                 "minor": int(minor), "value": _uint(fields[-1])}
            if len(fields) == 3:
                entry["op"] = fields[1]
            out.setdefault(field, []).append(entry)
    return out  # type: ignore[return-value]  # its keys are BlkIOStat's fields, from BLKIO_* (not literals)


def metrics(paths: dict[str, str]) -> "Metrics":
    """paths: cgroup_paths() of the task's init, taken while it ran (its cgroup outlives it until
    the runtime deletes the container, and so do its metrics)."""
    out: Metrics = {}
    if "pids" in paths:
        d = paths["pids"]
        out["pids"] = {"current": _uint(_read(d, "pids.current")), "limit": _uint(_read(d, "pids.max"))}
    if "cpuacct" in paths:
        d = paths["cpuacct"]
        ticks = _pairs(_read(d, "cpuacct.stat"))
        usage: CPUUsage = {"total": _uint(_read(d, "cpuacct.usage")), "kernel": ticks.get("system", 0) * TICKS_NS,
                           "user": ticks.get("user", 0) * TICKS_NS,
                           "per_cpu": [int(v) for v in (_read(d, "cpuacct.usage_percpu") or "").split()]}
        throttle = _pairs(_read(paths.get("cpu", d), "cpu.stat"))
        out["cpu"] = {"usage": usage, "throttling": {"periods": throttle.get("nr_periods", 0),
                                                     "throttled_periods": throttle.get("nr_throttled", 0),
                                                     "throttled_time": throttle.get("throttled_time", 0)}}
    if "memory" in paths:
        d = paths["memory"]
        memory = _memory_stat(_pairs(_read(d, "memory.stat")))
        for field, prefix in MEMORY_ENTRIES:
            entry = _memory_entry(d, prefix)
            if entry is not None:
                memory[field] = entry
        out["memory"] = memory
        oom = _pairs(_read(d, "memory.oom_control"))
        out["memory_oom_control"] = {"oom_kill_disable": oom.get("oom_kill_disable", 0),
                                     "under_oom": oom.get("under_oom", 0), "oom_kill": oom.get("oom_kill", 0)}
    if "blkio" in paths:
        out["blkio"] = blkio(paths["blkio"])
    return out


# MemoryStat's MemoryEntry fields -> the prefix of their files
MEMORY_ENTRIES: "tuple[tuple[Literal['usage', 'swap', 'kernel', 'kernel_tcp'], str], ...]" = (
    ("usage", "memory."), ("swap", "memory.memsw."), ("kernel", "memory.kmem."), ("kernel_tcp", "memory.kmem.tcp."))


def _memory_stat(stat: dict[str, int]) -> "MemoryStat":
    """memory.stat's counters under MemoryStat's names, those it has (MEMORY_FIELDS)."""
    memory = {_memory_field(k): v for k, v in stat.items()}
    return {k: v for k, v in memory.items() if k in MEMORY_FIELDS}  # type: ignore[return-value]  # (the table's names)


def _memory_field(key: str) -> str:
    """memory.stat key -> MemoryStat field: total_pgpgin is total_pg_pg_in, as pgpgin is pg_pg_in."""
    if key.startswith("total_"):
        return "total_" + MEMORY_STAT_NAMES.get(key[6:], key[6:])
    return MEMORY_STAT_NAMES.get(key, key)


def _memory_fields() -> set[str]:
    from pyrunc_proto.containerd.tables import SCHEMA

    return {name for name, kind, _, _ in SCHEMA["io.containerd.cgroups.v1.MemoryStat"].values() if kind != "message"}


MEMORY_FIELDS = _memory_fields()
