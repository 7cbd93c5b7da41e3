"""cgroup v2: one directory in the unified hierarchy; v1-style spec values translated as runc does."""

import os
import select
import time

from ..errors import PyruncError, reason
from . import fs
from .base import Cgroup, warn

_FREEZE_TIMEOUT = 10.0
MAX_UINT64 = 2**64 - 1


# --- runc's v1 -> v2 value translations ----------------------------------------

def shares_to_weight(shares):
    """cpu.shares [2, 262144] onto cpu.weight [1, 10000]; 0 stays unset."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_weight_to_io_weight(weight):
    """blkio.weight [10, 1000] onto io.weight [1, 10000]; 0 stays unset."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def swap_to_v2(swap, memory):
    """v1's memory+swap limit -> v2's swap-only memory.swap.max (-1 is max, 0 is unset)."""
    if memory == -1 and swap == 0:
        return -1  # "unlimited memory" also lifts swap, as on v1
    if swap in (-1, 0):
        return swap
    if memory in (0, -1):
        raise PyruncError("linux.resources.memory.swap: unable to set swap limit without memory limit")
    if memory < 0:
        raise PyruncError(f"linux.resources.memory.limit: invalid memory value: {memory}")
    if swap < memory:
        raise PyruncError("linux.resources.memory.swap: memory+swap limit should be >= memory limit")
    return swap - memory


def _num(value):
    """runc's numToStr: 0 is unset (None), -1 is "max"."""
    if not value:
        return None
    return "max" if value == -1 else str(value)


# --- helpers shared with the hybrid v1 code --------------------------------------

def enable_controllers(mount, path, wanted=None):
    """Turn controllers on in cgroup.subtree_control of every ancestor of path, below mount.

    Failures are ignored here (as runc does): a controller that could not be enabled
    shows up as a missing file when a limit is written, with that field's name.
    """
    rel = os.path.relpath(os.path.dirname(path), mount)
    parts = [] if rel == "." else rel.split("/")
    current = mount
    for part in [None] + parts:
        if part is not None:
            current = os.path.join(current, part)
        try:
            available = fs.read(current, "cgroup.controllers").split()
        except OSError:
            return
        for ctrl in available:
            if wanted is not None and ctrl not in wanted:
                continue
            try:
                fd = os.open(os.path.join(current, "cgroup.subtree_control"), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
                try:
                    os.write(fd, f"+{ctrl}".encode())
                finally:
                    os.close(fd)
            except OSError:
                continue


def write_unified(directory, unified):
    for key, value in unified.items():
        field = f"linux.resources.unified.{key}"
        if "/" in key or key.startswith(".") or not key:
            raise PyruncError(f"{field}: invalid cgroup file name")
        if not os.path.exists(os.path.join(directory, key)):
            ctrl = key.partition(".")[0]
            raise PyruncError(f"{field}: no such cgroup file (is the {ctrl} controller available "
                              "and enabled for this cgroup?)")
        fs.write(directory, key, value, field)


class V2Cgroup(Cgroup):
    version = "v2"

    def __init__(self, mount, path):
        self.mount = mount
        self.path = path

    def to_state(self):
        return {"version": "v2", "mount": self.mount, "path": self.path}

    def exists(self):
        return os.path.isdir(self.path)

    # --- lifecycle -------------------------------------------------------------

    def create(self):
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as e:
            raise PyruncError(f"unable to create cgroup: mkdir {e.filename}: {reason(e)}") from None
        enable_controllers(self.mount, self.path)

    def add(self, pid):
        fs.write(self.path, "cgroup.procs", pid, f"cgroup {self.path}")

    def pids(self):
        if not os.path.isdir(self.path):
            return []
        return fs.procs_recursive(self.path)

    def destroy(self):
        fs.remove_tree(self.path)

    # --- freezer ---------------------------------------------------------------

    def freeze(self):
        fs.write(self.path, "cgroup.freeze", 1, "cgroup.freeze")
        deadline = time.monotonic() + _FREEZE_TIMEOUT
        # cgroup.events changes (and wakes poll with POLLPRI) when "frozen" flips
        fd = os.open(os.path.join(self.path, "cgroup.events"), os.O_RDONLY | os.O_CLOEXEC)
        try:
            poller = select.poll()
            poller.register(fd, select.POLLPRI | select.POLLERR)
            while True:
                os.lseek(fd, 0, os.SEEK_SET)
                if b"frozen 1" in os.read(fd, 4096):
                    return
                left = deadline - time.monotonic()
                if left <= 0:
                    fs.write(self.path, "cgroup.freeze", 0, "cgroup.freeze")
                    raise PyruncError("unable to freeze the container: its processes did not stop in time")
                poller.poll(min(left, 0.1) * 1000)
        finally:
            os.close(fd)

    def thaw(self):
        fs.write(self.path, "cgroup.freeze", 0, "cgroup.freeze")

    def is_frozen(self):
        try:
            return fs.read(self.path, "cgroup.freeze") == "1"
        except OSError:
            return False

    # --- limits ----------------------------------------------------------------

    def apply(self, resources):
        if resources is None:
            return
        d = self.path
        if resources.devices:
            self._apply_devices(resources.devices)
        if resources.memory is not None:
            self._apply_memory(d, resources.memory)
        if resources.cpu is not None:
            self._apply_cpu(d, resources.cpu)
        if resources.pids is not None and resources.pids.limit:
            limit = resources.pids.limit
            fs.write(d, "pids.max", limit if limit > 0 else "max", "linux.resources.pids.limit")
        if resources.block_io is not None:
            self._apply_io(d, resources.block_io)
        for i, h in enumerate(resources.hugepage_limits):
            name = f"hugetlb.{h.page_size}.max"
            if not os.path.exists(os.path.join(d, name)):
                raise fs.hugetlb_file_missing(d, h.page_size, f"linux.resources.hugepageLimits[{i}]")
            fs.write(d, name, h.limit, f"linux.resources.hugepageLimits[{i}].limit")
        if resources.network is not None and (resources.network.class_id is not None
                                              or resources.network.priorities):
            warn("linux.resources.network: net_cls/net_prio do not exist on cgroup v2; ignored")
        if resources.unified:
            write_unified(d, resources.unified)

    def _apply_devices(self, devices):
        from . import ebpf
        from .devices import effective_rules

        rules = effective_rules(devices)
        try:
            ebpf.attach(self.path, rules)
        except PyruncError as e:
            # e.g. no CONFIG_CGROUP_BPF, or no CAP_BPF in a user namespace: run, but say it plainly
            warn(f"device rules are not enforced on this cgroup v2 host: {e}; the container can reach "
                 "every device node it can see in its /dev")

    @staticmethod
    def _apply_memory(d, m):
        limit, swap = m.limit or 0, m.swap or 0
        swap_v2 = swap_to_v2(swap, limit)
        swap_str = _num(swap_v2)
        if swap_str is None and swap_v2 == 0 and swap > 0:
            swap_str = "0"  # limit == memory+swap: no swap at all
        if swap_str is not None:
            if not os.path.exists(os.path.join(d, "memory.swap.max")):
                if swap > 0:
                    raise PyruncError("linux.resources.memory.swap: swap accounting is not enabled in this kernel")
            else:
                fs.write(d, "memory.swap.max", swap_str, "linux.resources.memory.swap")
        if _num(limit):
            fs.write(d, "memory.max", _num(limit), "linux.resources.memory.limit")
        if _num(m.reservation or 0):
            fs.write(d, "memory.low", _num(m.reservation), "linux.resources.memory.reservation")
        for value, field in ((m.kernel, "kernel"), (m.kernel_tcp, "kernelTCP")):
            if value:
                warn(f"linux.resources.memory.{field}: kernel memory limits do not exist on cgroup v2; ignored")
        if m.swappiness is not None and m.swappiness != -1:
            warn("linux.resources.memory.swappiness: not settable per cgroup on cgroup v2; ignored")
        if m.disable_oom_killer:
            warn("linux.resources.memory.disableOOMKiller: not supported on cgroup v2; ignored")

    @staticmethod
    def _apply_cpu(d, c):
        if c.realtime_period or c.realtime_runtime:
            raise PyruncError("linux.resources.cpu.realtimeRuntime: realtime scheduling budgets "
                              "are not supported on cgroup v2")
        if c.cpus:
            fs.write(d, "cpuset.cpus", c.cpus, "linux.resources.cpu.cpus")
        if c.mems:
            fs.write(d, "cpuset.mems", c.mems, "linux.resources.cpu.mems")
        if c.idle is not None:
            fs.write(d, "cpu.idle", c.idle, "linux.resources.cpu.idle")
        if c.shares:
            fs.write(d, "cpu.weight", shares_to_weight(c.shares), "linux.resources.cpu.shares")
        if c.quota or c.period:
            value = str(c.quota) if c.quota and c.quota > 0 else "max"
            if c.period:
                value += f" {c.period}"
            fs.write(d, "cpu.max", value, "linux.resources.cpu.quota")
        if c.burst:
            fs.write(d, "cpu.max.burst", c.burst, "linux.resources.cpu.burst")

    @staticmethod
    def _apply_io(d, b):
        bfq = os.path.exists(os.path.join(d, "io.bfq.weight"))
        if b.weight:
            if bfq:
                fs.write(d, "io.bfq.weight", b.weight, "linux.resources.blockIO.weight")
            else:
                fs.write(d, "io.weight", blkio_weight_to_io_weight(b.weight), "linux.resources.blockIO.weight")
        for i, wd in enumerate(b.weight_device):
            if wd.weight:
                if not bfq:
                    raise PyruncError(f"linux.resources.blockIO.weightDevice[{i}]: per-device weights need "
                                      "the BFQ I/O scheduler (io.bfq.weight)")
                fs.write(d, "io.bfq.weight", f"{wd.major}:{wd.minor} {wd.weight}",
                         f"linux.resources.blockIO.weightDevice[{i}]")
        for attr, key, field in (
            ("throttle_read_bps_device", "rbps", "throttleReadBpsDevice"),
            ("throttle_write_bps_device", "wbps", "throttleWriteBpsDevice"),
            ("throttle_read_iops_device", "riops", "throttleReadIOPSDevice"),
            ("throttle_write_iops_device", "wiops", "throttleWriteIOPSDevice"),
        ):
            for i, td in enumerate(getattr(b, attr)):
                fs.write(d, "io.max", f"{td.major}:{td.minor} {key}={td.rate}",
                         f"linux.resources.blockIO.{field}[{i}]")

    # --- stats and events ------------------------------------------------------

    def stats(self):
        d = self.path
        cpu = fs.read_keyed(d, "cpu.stat")
        usage = {"kernel": cpu.get("system_usec", 0) * 1000, "user": cpu.get("user_usec", 0) * 1000}
        if cpu.get("usage_usec"):
            usage = {"total": cpu["usage_usec"] * 1000, **usage}
        throttling = {k: v for k, v in (("periods", cpu.get("nr_periods", 0)),
                                        ("throttledPeriods", cpu.get("nr_throttled", 0)),
                                        ("throttledTime", cpu.get("throttled_usec", 0) * 1000)) if v}
        return {
            "cpu": {"usage": usage, "throttling": throttling},
            "cpuset": self._cpuset_stats(),
            "memory": self._memory_stats(),
            "pids": {k: v for k, v in (("current", fs.read_int(d, "pids.current")),
                                       ("limit", fs.read_int(d, "pids.max"))) if v},
            "blkio": self._io_stats(),
            "hugetlb": self._hugetlb_stats(),
            "intel_rdt": {},
            "network_interfaces": None,
        }

    def _cpuset_stats(self):
        out = {}
        for key in ("cpus", "mems"):
            try:
                out[key] = fs.parse_cpu_list(fs.read(self.path, f"cpuset.{key}.effective"))
            except OSError:
                pass
        return out

    def _memory_stats(self):
        d = self.path
        if not os.path.exists(os.path.join(d, "memory.current")):
            return {}
        usage = {"limit": fs.read_int(d, "memory.max", MAX_UINT64), "usage": fs.read_int(d, "memory.current"),
                 "max": fs.read_int(d, "memory.peak"), "failcnt": fs.read_keyed(d, "memory.events").get("max", 0)}
        # v1 reports swap as memory+swap; so does runc on v2, for compatibility
        swap = {"limit": fs.read_int(d, "memory.swap.max", MAX_UINT64),
                "usage": fs.read_int(d, "memory.swap.current") + usage["usage"], "failcnt": 0}
        if swap["limit"] != MAX_UINT64 and usage["limit"] != MAX_UINT64:
            swap["limit"] += usage["limit"]
        raw = fs.read_keyed(d, "memory.stat")
        out = {}
        if raw.get("file"):
            out["cache"] = raw["file"]
        out["usage"] = {k: v for k, v in usage.items() if v or k in ("limit", "failcnt")}
        out["swap"] = {k: v for k, v in swap.items() if v or k in ("limit", "failcnt")}
        out["kernel"] = {"limit": 0, "failcnt": 0}
        out["kernelTCP"] = {"limit": 0, "failcnt": 0}
        out["raw"] = raw
        return out

    def _io_stats(self):
        try:
            text = fs.read(self.path, "io.stat")
        except OSError:
            return {}
        served_bytes: list[dict[str, object]] = []
        served: list[dict[str, object]] = []
        for line in text.splitlines():
            dev, *pairs = line.split()
            major, _, minor = dev.partition(":")
            values = dict(p.split("=", 1) for p in pairs if "=" in p)
            for op, key, dest in (("Read", "rbytes", served_bytes), ("Write", "wbytes", served_bytes),
                                  ("Read", "rios", served), ("Write", "wios", served)):
                entry = {"major": int(major), "minor": int(minor), "op": op, "value": int(values.get(key, 0))}
                dest.append({k: v for k, v in entry.items() if v})
        out = {}
        if served_bytes:
            out["ioServiceBytesRecursive"] = served_bytes
        if served:
            out["ioServicedRecursive"] = served
        return out

    def _hugetlb_stats(self):
        out = {}
        for size in fs.hugepage_sizes():
            if not os.path.exists(os.path.join(self.path, f"hugetlb.{size}.current")):
                continue
            entry = {"usage": fs.read_int(self.path, f"hugetlb.{size}.current")}
            entry = {k: v for k, v in entry.items() if v}
            entry["failcnt"] = fs.read_keyed(self.path, f"hugetlb.{size}.events").get("max", 0)
            out[size] = entry
        return out

    def oom_watch(self):
        from .oom import V2OOMWatch

        return V2OOMWatch(self.path)
