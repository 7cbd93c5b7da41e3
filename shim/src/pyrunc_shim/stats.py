"""Task metrics from the container's cgroup v1 files, as io.containerd.cgroups.v1.Metrics fields.

Read the way containerd's cgroups library does: cpuacct.stat is in clock ticks (USER_HZ),
"max" limits read as 0, absent controllers leave their section out.
"""

import os

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


def _memory_entry(d: str, prefix: str) -> dict | None:
    if _read(d, prefix + "usage_in_bytes") is None:
        return None
    return {"limit": _uint(_read(d, prefix + "limit_in_bytes")), "usage": _uint(_read(d, prefix + "usage_in_bytes")),
            "max": _uint(_read(d, prefix + "max_usage_in_bytes")), "failcnt": _uint(_read(d, prefix + "failcnt"))}


def metrics(pid: int) -> dict:
    paths = cgroup_paths(pid)
    out: dict = {}
    if "pids" in paths:
        d = paths["pids"]
        out["pids"] = {"current": _uint(_read(d, "pids.current")), "limit": _uint(_read(d, "pids.max"))}
    if "cpuacct" in paths:
        d = paths["cpuacct"]
        ticks = _pairs(_read(d, "cpuacct.stat"))
        usage = {"total": _uint(_read(d, "cpuacct.usage")), "kernel": ticks.get("system", 0) * TICKS_NS,
                 "user": ticks.get("user", 0) * TICKS_NS,
                 "per_cpu": [int(v) for v in (_read(d, "cpuacct.usage_percpu") or "").split()]}
        throttle = _pairs(_read(paths.get("cpu", d), "cpu.stat"))
        out["cpu"] = {"usage": usage, "throttling": {"periods": throttle.get("nr_periods", 0),
                                                     "throttled_periods": throttle.get("nr_throttled", 0),
                                                     "throttled_time": throttle.get("throttled_time", 0)}}
    if "memory" in paths:
        d = paths["memory"]
        stat = _pairs(_read(d, "memory.stat"))
        memory = {MEMORY_STAT_NAMES.get(k, k): v for k, v in stat.items()}
        memory = {k: v for k, v in memory.items() if k in MEMORY_FIELDS}
        for field, prefix in (("usage", "memory."), ("swap", "memory.memsw."), ("kernel", "memory.kmem."),
                              ("kernel_tcp", "memory.kmem.tcp.")):
            entry = _memory_entry(d, prefix)
            if entry is not None:
                memory[field] = entry
        out["memory"] = memory
        oom = _pairs(_read(d, "memory.oom_control"))
        out["memory_oom_control"] = {"oom_kill_disable": oom.get("oom_kill_disable", 0),
                                     "under_oom": oom.get("under_oom", 0), "oom_kill": oom.get("oom_kill", 0)}
    return out


def _memory_fields() -> set[str]:
    from pyrunc_proto.containerd.tables import SCHEMA

    return {name for name, kind, _, _ in SCHEMA["io.containerd.cgroups.v1.MemoryStat"].values() if kind != "message"}


MEMORY_FIELDS = _memory_fields()
