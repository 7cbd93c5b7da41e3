"""cgroup v1: one directory per hierarchy (plus, on hybrid hosts, one in the cgroup2 mount)."""

import errno
import os
import time

from ..errors import PyruncError, reason
from . import fs
from .base import Cgroup, warn

# where stats() and pids() look when a controller is missing
_PID_SOURCES = ("pids", "freezer", "devices", "memory", "cpu", "name=systemd")
_FREEZE_TIMEOUT = 10.0


class V1Cgroup(Cgroup):
    version = "v1"

    def __init__(self, paths, unified=None, unified_mount=None):
        self.paths = dict(paths)          # controller -> directory
        self.unified = unified            # hybrid: the container's dir in the cgroup2 mount
        self.unified_mount = unified_mount

    def to_state(self):
        return {"version": "v1", "paths": self.paths, "unified": self.unified,
                "unified_mount": self.unified_mount}

    def _dirs(self):
        """Each distinct directory once (co-mounted controllers share one), then the unified one."""
        seen = []
        for d in self.paths.values():
            if d not in seen:
                seen.append(d)
        if self.unified:
            seen.append(self.unified)
        return seen

    def exists(self):
        return any(os.path.isdir(d) for d in self._dirs())

    # --- lifecycle -------------------------------------------------------------

    def create(self):
        try:
            for ctrl, d in self.paths.items():
                if ctrl == "cpuset":
                    _make_cpuset(d)
                else:
                    os.makedirs(d, exist_ok=True)
            if self.unified:
                os.makedirs(self.unified, exist_ok=True)
        except OSError as e:
            raise PyruncError(f"unable to create cgroup: mkdir {e.filename}: {reason(e)}") from None

    def add(self, pid):
        for d in self._dirs():
            fs.write(d, "cgroup.procs", pid, f"cgroup {d}")

    def pids(self):
        for ctrl in _PID_SOURCES:
            if ctrl in self.paths and os.path.isdir(self.paths[ctrl]):
                return fs.procs_recursive(self.paths[ctrl])
        return []

    def destroy(self):
        for d in self._dirs():
            fs.remove_tree(d)

    # --- freezer ---------------------------------------------------------------

    def _freezer(self):
        d = self.paths.get("freezer")
        if d is None:
            raise PyruncError("the freezer cgroup controller is not mounted: cannot pause")
        return d

    def freeze(self):
        d = self._freezer()
        deadline = time.monotonic() + _FREEZE_TIMEOUT
        delay = 0.001
        while True:
            # FREEZING can stall on a task in an uninterruptible sleep: asking again moves it on
            fs.write(d, "freezer.state", "FROZEN", "freezer.state")
            if fs.read(d, "freezer.state") == "FROZEN":
                return
            if time.monotonic() > deadline:
                fs.write(d, "freezer.state", "THAWED", "freezer.state")
                raise PyruncError("unable to freeze the container: its processes did not stop in time")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def thaw(self):
        fs.write(self._freezer(), "freezer.state", "THAWED", "freezer.state")

    def is_frozen(self):
        d = self.paths.get("freezer")
        if d is None:
            return False
        try:
            state = fs.read(d, "freezer.state")
            if state == "FROZEN":
                # frozen by us, not only because an ancestor is (then the container is not "paused")
                return fs.read(d, "freezer.self_freezing") == "1"
            return state == "FREEZING"
        except FileNotFoundError:
            return False

    # --- limits ----------------------------------------------------------------

    def apply(self, resources):
        if resources is None:
            return
        if resources.devices:
            self._apply_devices(resources.devices)
        if resources.memory is not None:
            self._apply_memory(resources.memory)
        if resources.cpu is not None:
            self._apply_cpu(resources.cpu)
        if resources.pids is not None:
            self._apply_pids(resources.pids)
        if resources.block_io is not None:
            self._apply_blkio(resources.block_io)
        for i, h in enumerate(resources.hugepage_limits):
            self._apply_hugetlb(i, h)
        if resources.network is not None:
            self._apply_network(resources.network)
        if resources.unified:
            self._apply_unified(resources.unified)

    def _need(self, ctrl, field):
        d = self.paths.get(ctrl)
        if d is None:
            raise PyruncError(f"linux.resources.{field}: the {ctrl} cgroup controller is not mounted on this host")
        return d

    def _apply_devices(self, devices):
        from .devices import effective_rules

        d = self._need("devices", "devices")
        for rule in effective_rules(devices):
            fs.write(d, "devices.allow" if rule.allow else "devices.deny", rule.v1(), "linux.resources.devices")

    def _apply_memory(self, m):
        d = self._need("memory", "memory")
        limit, swap = m.limit or 0, m.swap or 0
        has_swap = os.path.exists(os.path.join(d, "memory.memsw.limit_in_bytes"))
        if limit == -1 and swap == 0 and has_swap:
            swap = -1  # unlimited memory means unlimited memory+swap too, as runc does
        if swap and not has_swap:
            raise PyruncError("linux.resources.memory.swap: swap accounting is not enabled in this kernel")
        # the kernel insists limit <= memsw limit at every step: grow swap first, shrink memory first
        if limit and swap and (swap == -1 or fs.read_int(d, "memory.limit_in_bytes") < swap):
            order = (("memory.memsw.limit_in_bytes", swap, "swap"), ("memory.limit_in_bytes", limit, "limit"))
        else:
            order = (("memory.limit_in_bytes", limit, "limit"), ("memory.memsw.limit_in_bytes", swap, "swap"))
        for name, value, field in order:
            if value:
                fs.write(d, name, value, f"linux.resources.memory.{field}")
        if m.reservation:
            fs.write(d, "memory.soft_limit_in_bytes", m.reservation, "linux.resources.memory.reservation")
        if m.kernel:
            self._kernel_memory(d, "memory.kmem.limit_in_bytes", m.kernel, "kernel")
        if m.kernel_tcp:
            self._kernel_memory(d, "memory.kmem.tcp.limit_in_bytes", m.kernel_tcp, "kernelTCP")
        if m.swappiness is not None and m.swappiness != -1:
            if not 0 <= m.swappiness <= 100:
                raise PyruncError(f"linux.resources.memory.swappiness: invalid value {m.swappiness}, "
                                  "valid memory swappiness range is 0-100")
            fs.write(d, "memory.swappiness", m.swappiness, "linux.resources.memory.swappiness")
        if m.disable_oom_killer:
            fs.write(d, "memory.oom_control", 1, "linux.resources.memory.disableOOMKiller")

    @staticmethod
    def _kernel_memory(d, name, value, field):
        if not os.path.exists(os.path.join(d, name)):
            warn(f"linux.resources.memory.{field}: kernel memory limits are not supported by this kernel; ignored")
            return
        try:
            fs.write(d, name, value, f"linux.resources.memory.{field}")
        except PyruncError as e:
            # kernels since 5.16 keep the file but refuse limits on it
            warn(f"{e}; ignored")

    def _apply_cpu(self, c):
        if c.cpus or c.mems:
            d = self._need("cpuset", "cpu.cpus")
            if c.cpus:
                fs.write(d, "cpuset.cpus", c.cpus, "linux.resources.cpu.cpus")
            if c.mems:
                fs.write(d, "cpuset.mems", c.mems, "linux.resources.cpu.mems")
        wants_cpu = any(v for v in (c.shares, c.quota, c.period, c.burst, c.realtime_period,
                                    c.realtime_runtime)) or c.idle is not None
        if not wants_cpu:
            return
        d = self._need("cpu", "cpu")
        # realtime first: a process already SCHED_RR cannot join a group with no rt budget
        if c.realtime_period:
            fs.write(d, "cpu.rt_period_us", c.realtime_period, "linux.resources.cpu.realtimePeriod")
        if c.realtime_runtime:
            fs.write(d, "cpu.rt_runtime_us", c.realtime_runtime, "linux.resources.cpu.realtimeRuntime")
        if c.shares:
            fs.write(d, "cpu.shares", c.shares, "linux.resources.cpu.shares")
            got = fs.read_int(d, "cpu.shares")
            if got != c.shares:
                bound = "maximum" if c.shares > got else "minimum"
                raise PyruncError(f"linux.resources.cpu.shares: the {bound} allowed cpu-shares is {got}")
        period_pending = False
        if c.period:
            try:
                _raw_write(d, "cpu.cfs_period_us", c.period)
            except OSError as e:
                # a shorter period may break the parent's quota until the new quota is in
                if e.errno != errno.EINVAL or not c.quota:
                    fs.write(d, "cpu.cfs_period_us", c.period, "linux.resources.cpu.period")
                period_pending = True
        if c.quota:
            fs.write(d, "cpu.cfs_quota_us", c.quota, "linux.resources.cpu.quota")
            if period_pending:
                fs.write(d, "cpu.cfs_period_us", c.period, "linux.resources.cpu.period")
        if c.burst is not None and c.burst != 0:
            fs.write(d, "cpu.cfs_burst_us", c.burst, "linux.resources.cpu.burst")
        if c.idle is not None:
            fs.write(d, "cpu.idle", c.idle, "linux.resources.cpu.idle")

    def _apply_pids(self, p):
        d = self._need("pids", "pids")
        if p.limit:
            fs.write(d, "pids.max", p.limit if p.limit > 0 else "max", "linux.resources.pids.limit")

    def _apply_blkio(self, b):
        d = self._need("blkio", "blockIO")
        bfq = os.path.exists(os.path.join(d, "blkio.bfq.weight"))
        weight_file = "blkio.bfq.weight" if bfq else "blkio.weight"
        if b.weight:
            fs.write(d, weight_file, b.weight, "linux.resources.blockIO.weight")
        if b.leaf_weight:
            if bfq:
                raise PyruncError("linux.resources.blockIO.leafWeight: not supported by the BFQ scheduler")
            fs.write(d, "blkio.leaf_weight", b.leaf_weight, "linux.resources.blockIO.leafWeight")
        for i, wd in enumerate(b.weight_device):
            field = f"linux.resources.blockIO.weightDevice[{i}]"
            if wd.weight:
                fs.write(d, weight_file + "_device", f"{wd.major}:{wd.minor} {wd.weight}", field)
            if wd.leaf_weight and not bfq:
                fs.write(d, "blkio.leaf_weight_device", f"{wd.major}:{wd.minor} {wd.leaf_weight}", field)
        for attr, name, field in (
            ("throttle_read_bps_device", "blkio.throttle.read_bps_device", "throttleReadBpsDevice"),
            ("throttle_write_bps_device", "blkio.throttle.write_bps_device", "throttleWriteBpsDevice"),
            ("throttle_read_iops_device", "blkio.throttle.read_iops_device", "throttleReadIOPSDevice"),
            ("throttle_write_iops_device", "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice"),
        ):
            for i, td in enumerate(getattr(b, attr)):
                fs.write(d, name, f"{td.major}:{td.minor} {td.rate}", f"linux.resources.blockIO.{field}[{i}]")

    def _apply_hugetlb(self, i, h):
        field = f"linux.resources.hugepageLimits[{i}]"
        if "hugetlb" in self.paths:
            d, name = self.paths["hugetlb"], f"hugetlb.{h.page_size}.limit_in_bytes"
        elif self.unified:
            # hybrid hosts keep hugetlb in the cgroup2 mount
            from .v2 import enable_controllers

            enable_controllers(self.unified_mount, self.unified, ["hugetlb"])
            d, name = self.unified, f"hugetlb.{h.page_size}.max"
        else:
            raise PyruncError(f"{field}: the hugetlb cgroup controller is not available on this host")
        if not os.path.exists(os.path.join(d, name)):
            raise fs.hugetlb_file_missing(d, h.page_size, field)
        fs.write(d, name, h.limit, f"{field}.limit")

    def _apply_network(self, n):
        if n.class_id is not None:
            fs.write(self._need("net_cls", "network.classID"), "net_cls.classid", n.class_id,
                     "linux.resources.network.classID")
        for i, p in enumerate(n.priorities):
            fs.write(self._need("net_prio", "network.priorities"), "net_prio.ifpriomap",
                     f"{p.name} {p.priority}", f"linux.resources.network.priorities[{i}]")

    def _apply_unified(self, unified):
        if not self.unified:
            raise PyruncError("linux.resources.unified: cannot use unified on cgroup v1")
        from .v2 import write_unified

        write_unified(self.unified, unified)

    # --- stats and events ------------------------------------------------------

    def stats(self):
        return {
            "cpu": self._cpu_stats(),
            "cpuset": self._cpuset_stats(),
            "memory": self._memory_stats(),
            "pids": self._pids_stats(),
            "blkio": self._blkio_stats(),
            "hugetlb": self._hugetlb_stats(),
            "intel_rdt": {},
            "network_interfaces": None,
        }

    def _cpu_stats(self):
        usage = {}
        d = self.paths.get("cpuacct")
        if d:
            usage["total"] = fs.read_int(d, "cpuacct.usage")
            try:
                percpu = [int(x) for x in fs.read(d, "cpuacct.usage_percpu").split()]
            except OSError:
                percpu = []
            usage["percpu"] = percpu
            kernel, user = [], []
            try:
                for line in fs.read(d, "cpuacct.usage_all").splitlines()[1:]:
                    _cpu, u, s = line.split()
                    user.append(int(u))
                    kernel.append(int(s))
            except (OSError, ValueError):
                pass
            usage["percpu_kernel"], usage["percpu_user"] = kernel, user
            # cpuacct.stat counts USER_HZ ticks
            tick_ns = 10**9 // os.sysconf("SC_CLK_TCK")
            st = fs.read_keyed(d, "cpuacct.stat")
            usage["kernel"] = st.get("system", 0) * tick_ns
            usage["user"] = st.get("user", 0) * tick_ns
        usage = {k: v for k, v in usage.items() if v or k in ("kernel", "user")}
        usage.setdefault("kernel", 0)
        usage.setdefault("user", 0)
        throttling = {}
        if "cpu" in self.paths:
            st = fs.read_keyed(self.paths["cpu"], "cpu.stat")
            throttling = _nonzero(periods=st.get("nr_periods", 0), throttledPeriods=st.get("nr_throttled", 0),
                                  throttledTime=st.get("throttled_time", 0))
        return {"usage": usage, "throttling": throttling}

    def _cpuset_stats(self):
        d = self.paths.get("cpuset")
        if not d:
            return {}
        out = {}
        for key in ("cpus", "cpu_exclusive", "mems", "mem_hardwall", "mem_exclusive", "memory_migrate",
                    "memory_spread_page", "memory_spread_slab", "memory_pressure", "sched_load_balance",
                    "sched_relax_domain_level"):
            if key in ("cpus", "mems"):
                try:
                    out[key] = fs.parse_cpu_list(fs.read(d, f"cpuset.{key}"))
                except OSError:
                    out[key] = []
            else:
                out[key] = fs.read_int(d, f"cpuset.{key}")
        return out

    def _memory_stats(self):
        d = self.paths.get("memory")
        if not d:
            return {}

        def entry(prefix):
            e = {"limit": fs.read_int(d, f"{prefix}.limit_in_bytes"),
                 "usage": fs.read_int(d, f"{prefix}.usage_in_bytes"),
                 "max": fs.read_int(d, f"{prefix}.max_usage_in_bytes"),
                 "failcnt": fs.read_int(d, f"{prefix}.failcnt")}
            return {k: v for k, v in e.items() if v or k in ("limit", "failcnt")}

        raw = fs.read_keyed(d, "memory.stat")
        out = {}
        if raw.get("cache"):
            out["cache"] = raw["cache"]
        out["usage"] = entry("memory")
        out["swap"] = entry("memory.memsw")
        out["kernel"] = entry("memory.kmem")
        out["kernelTCP"] = entry("memory.kmem.tcp")
        out["raw"] = raw
        return out

    def _pids_stats(self):
        d = self.paths.get("pids")
        if not d:
            return {}
        return _nonzero(current=fs.read_int(d, "pids.current"), limit=fs.read_int(d, "pids.max"))

    def _blkio_stats(self):
        d = self.paths.get("blkio")
        if not d:
            return {}
        out = {}
        for key, names in (
            ("ioServiceBytesRecursive", ("blkio.io_service_bytes_recursive", "blkio.bfq.io_service_bytes_recursive",
                                         "blkio.throttle.io_service_bytes_recursive")),
            ("ioServicedRecursive", ("blkio.io_serviced_recursive", "blkio.bfq.io_serviced_recursive",
                                     "blkio.throttle.io_serviced_recursive")),
        ):
            for name in names:
                entries = _blkio_entries(d, name)
                if entries:
                    out[key] = entries
                    break
        return out

    def _hugetlb_stats(self):
        out = {}
        if "hugetlb" in self.paths:
            d = self.paths["hugetlb"]
            for size in fs.hugepage_sizes():
                out[size] = _nonzero(usage=fs.read_int(d, f"hugetlb.{size}.usage_in_bytes"),
                                     max=fs.read_int(d, f"hugetlb.{size}.max_usage_in_bytes"))
                out[size]["failcnt"] = fs.read_int(d, f"hugetlb.{size}.failcnt")
        elif self.unified and os.path.isdir(self.unified):
            from .v2 import V2Cgroup

            out = V2Cgroup(self.unified_mount, self.unified)._hugetlb_stats()
        return out

    def oom_watch(self):
        from .oom import V1OOMWatch

        return V1OOMWatch(self._need("memory", "memory"))


def _raw_write(d, name, value):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _make_cpuset(d):
    """mkdir with cpuset.cpus/mems filled down from the ancestors, else nothing can join the new cgroup.

    Ancestors someone else made may be empty too (cgroup.clone_children is 0 by default): fill
    those as well, from the hierarchy's root down, as runc's cpusetEnsureParent does.
    """
    parent = os.path.dirname(d)
    if parent == d or os.path.isdir(parent) and not os.path.exists(os.path.join(parent, "cpuset.cpus")):
        return  # d is the hierarchy's root, always full (a parent still to be made is in the hierarchy)
    _make_cpuset(parent)
    try:
        os.mkdir(d)
    except FileExistsError:
        pass
    for name in ("cpuset.cpus", "cpuset.mems"):
        if not fs.read(d, name):
            _raw_write(d, name, fs.read(parent, name))


def _blkio_entries(d, name):
    try:
        text = fs.read(d, name)
    except OSError:
        return []
    entries = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        entries.append(_nonzero(major=int(major), minor=int(minor), op=parts[1], value=int(parts[2])))
    return entries


def _nonzero(**kw):
    """Go's omitempty."""
    return {k: v for k, v in kw.items() if v}
