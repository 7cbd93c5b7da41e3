"""pyrunc.cgroups against the real kernel: each limit is shown enforced, not just written.

Every test makes cgroups named with its own token, puts processes it starts into
them and removes everything afterwards, even on failure.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest
from pyrunc import cgroups, spec
from pyrunc.cgroups.discover import layout

from tests.harness.leaks import cgroup_dirs_naming

BUSYBOX = "/usr/bin/busybox"
V1_HOST = cgroups.detect() in ("v1", "hybrid")


def _res(obj):
    return spec.from_dict(spec.Resources, obj, "linux.resources")


class Made:
    """The cgroups a test made; all processes in them are killed and the dirs removed at the end."""

    def __init__(self, token):
        self.token = token
        self.groups = []
        self.n = 0

    def cgroup(self, path=None):
        self.n += 1
        cg = cgroups.open_for_container(path, f"{self.token}-cg{self.n}")
        self.groups.append(cg)
        cg.create()
        return cg

    def spawn(self, cg, argv, **kw):
        """Start argv already inside cg (it joins before exec, so nothing runs outside)."""
        return subprocess.Popen(argv, preexec_fn=lambda: cg.add(os.getpid()), **kw)

    def cleanup(self):
        for cg in self.groups:
            if not cg.exists():
                continue
            for _ in range(100):
                pids = cg.pids()
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if cg.is_frozen():
                    cg.thaw()
                time.sleep(0.01)
            cg.destroy()


@pytest.fixture
def made(token):
    m = Made(token)
    yield m
    m.cleanup()
    assert not cgroup_dirs_naming(token), "cgroup dirs left behind"


def _cpu_ns(cg):
    return cg.stats()["cpu"]["usage"].get("total", 0)


def test_create_add_pids_destroy_are_idempotent(made):
    cg = made.cgroup()
    cg.create()
    p = made.spawn(cg, ["sleep", "30"])
    time.sleep(0.05)
    assert cg.pids() == [p.pid]
    with open(f"/proc/{p.pid}/cgroup") as f:
        assert made.token in f.read()
    p.kill()
    p.wait()
    cg.destroy()
    cg.destroy()
    assert not cg.exists()


def test_state_round_trip_is_json(made):
    cg = made.cgroup()
    again = cgroups.from_state(json.loads(json.dumps(cg.to_state())))
    assert again.to_state() == cg.to_state() and again.exists()


@pytest.mark.skipif(not V1_HOST, reason="checks v1 hierarchies")
def test_relative_and_absolute_paths_as_runc(made, token):
    own = cgroups.own_cgroups()
    lay = layout()
    rel = made.cgroup(f"{token}-rel/inner")
    mnt, root = lay.v1["memory"]
    want = os.path.normpath(os.path.join(mnt, os.path.relpath(own["memory"], root), f"{token}-rel/inner"))
    assert rel.paths["memory"] == want
    absolute = made.cgroup(f"/{token}-abs/inner")
    assert absolute.paths["devices"] == f"{lay.v1['devices'][0]}/{token}-abs/inner"
    for cg, top in ((rel, f"{token}-rel"), (absolute, f"{token}-abs")):
        cg.destroy()
        # like runc, only the container's own dir is removed: the test removes the parents it asked for
        for d in cgroups.from_state(cg.to_state())._dirs():
            parent = os.path.dirname(d)
            assert parent.endswith(top)
            if os.path.isdir(parent):
                os.rmdir(parent)


@pytest.mark.skipif(not V1_HOST, reason="v1 memory controller")
def test_memory_limit_oom_kills_and_is_reported(made):
    cg = made.cgroup()
    cg.apply(_res({"memory": {"limit": 48 << 20, "swap": 48 << 20}}))
    watch = cg.oom_watch()
    try:
        p = made.spawn(cg, [sys.executable, "-c", "b = b'x' * (300 << 20)"], stderr=subprocess.DEVNULL)
        assert p.wait(timeout=30) == -signal.SIGKILL
        poller = select.poll()
        poller.register(watch, watch.events)
        assert poller.poll(5000), "no OOM notification"
        assert watch.read() >= 1
    finally:
        watch.close()
    st = cg.stats()["memory"]
    assert st["usage"]["limit"] == 48 << 20
    assert st["usage"]["max"] > 40 << 20
    with open(os.path.join(cg.paths["memory"], "memory.oom_control")) as f:
        assert "oom_kill 1" in f.read()


@pytest.mark.skipif(not V1_HOST, reason="v1 pids controller")
def test_pids_limit_stops_a_fork_bomb(made):
    cg = made.cgroup()
    cg.apply(_res({"pids": {"limit": 8}}))
    p = made.spawn(cg, [BUSYBOX, "sh", "-c", "for i in $(seq 40); do sleep 30 >/dev/null 2>&1 & done; echo spawned"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=30)
    assert "fork" in err  # "can't fork: Resource temporarily unavailable"
    assert 1 <= len(cg.pids()) <= 8
    assert cg.stats()["pids"]["limit"] == 8


@pytest.mark.skipif(not V1_HOST, reason="v1 cpu controller")
def test_cpu_quota_bounds_measured_cpu(made):
    cg = made.cgroup()
    cg.apply(_res({"cpu": {"quota": 20000, "period": 100000}}))
    busy = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 1.5: pass\n"
    p = made.spawn(cg, [sys.executable, "-c", busy])
    p.wait(timeout=30)
    used = _cpu_ns(cg) / 1e9
    # 20% of one CPU for 1.5 s is 0.3 s; an unbounded loop would use ~1.5 s
    assert 0.05 < used < 0.45, used
    assert cg.stats()["cpu"]["throttling"].get("throttledPeriods", 0) > 0


@pytest.mark.skipif(not V1_HOST, reason="v1 devices controller enforces rules")
def test_denied_device_cannot_be_opened(made):
    probe = [BUSYBOX, "sh", "-c", "true < /dev/null && echo null-ok; true < /dev/kmsg && echo opened"]
    free = made.cgroup()
    out = subprocess.run(probe, preexec_fn=lambda: free.add(os.getpid()), capture_output=True, text=True)
    assert "opened" in out.stdout, "control: /dev/kmsg must open outside a device cgroup"
    denied = made.cgroup()
    denied.apply(_res({"devices": [{"allow": False, "access": "rwm"}]}))
    out = subprocess.run(probe, preexec_fn=lambda: denied.add(os.getpid()), capture_output=True, text=True)
    assert "opened" not in out.stdout and "Operation not permitted" in out.stderr
    assert "null-ok" in out.stdout  # runc's default allow list still applies


def test_freeze_stops_progress_and_thaw_continues(made):
    cg = made.cgroup()
    made.spawn(cg, [sys.executable, "-c", "while True: pass"])
    time.sleep(0.2)
    cg.freeze()
    assert cg.is_frozen()
    before = _cpu_ns(cg)
    time.sleep(0.5)
    assert _cpu_ns(cg) == before
    cg.thaw()
    assert not cg.is_frozen()
    time.sleep(0.3)
    assert _cpu_ns(cg) > before


@pytest.mark.skipif(layout().unified is None, reason="no cgroup2 mount on this host")
def test_v2_code_on_the_unified_mount(made, token):
    from pyrunc.cgroups.v2 import V2Cgroup

    mount = layout().unified
    cg = V2Cgroup(mount, os.path.join(mount, f"{token}-v2"))
    made.groups.append(cg)
    cg.create()
    p = made.spawn(cg, [sys.executable, "-c", "while True: pass"])
    time.sleep(0.2)
    assert cg.pids() == [p.pid]
    cg.freeze()
    assert cg.is_frozen()
    with open(os.path.join(cg.path, "cgroup.events")) as f:
        assert "frozen 1" in f.read()
    before = cg.stats()["cpu"]["usage"]["total"]
    time.sleep(0.4)
    assert cg.stats()["cpu"]["usage"]["total"] == before
    cg.thaw()
    time.sleep(0.3)
    assert cg.stats()["cpu"]["usage"]["total"] > before
    p.kill()
    p.wait()
    cg.destroy()
    assert not cg.exists()


@pytest.mark.skipif(cgroups.detect() != "hybrid", reason="hybrid host: hugetlb in the cgroup2 mount")
def test_hybrid_hugetlb_limit_lands_in_the_unified_dir(made):
    with open(os.path.join(layout().unified, "cgroup.controllers")) as f:
        if "hugetlb" not in f.read().split():
            pytest.skip("hugetlb is not a cgroup2 controller here")
    cg = made.cgroup()
    cg.apply(_res({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}))
    with open(os.path.join(cg.unified, "hugetlb.2MB.max")) as f:
        assert f.read().strip() == str(4 << 20)
    assert "2MB" in cg.stats()["hugetlb"]


_MOUNT_PROBE = r"""
import json, os, sys
from pyrunc import cgroups, linux
state, dest, ns = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
cg = cgroups.from_state(state)
linux.unshare(linux.CLONE_NEWNS)
linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
if ns:
    cg.add(os.getpid())
    linux.unshare(linux.CLONE_NEWCGROUP)
cgroups.mount_cgroupfs(dest, cg, ns, linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
mem = os.path.join(dest, "memory")
try:
    open(os.path.join(mem, "memory.limit_in_bytes"), "w").write("1")
    ro = False
except OSError:
    ro = True
with open("/proc/self/mountinfo") as f:
    lines = [l.split() for l in f if dest in l]
print(json.dumps({"dirs": sorted(os.listdir(dest)), "ro": ro,
                  "limit": open(os.path.join(mem, "memory.limit_in_bytes")).read().strip(),
                  "roots": {l[4][len(dest) + 1:]: l[3] for l in lines}}))
"""


@pytest.mark.skipif(not V1_HOST, reason="v1 layout of the cgroup mount")
@pytest.mark.parametrize("cgroupns", [False, True])
def test_mount_cgroupfs_shows_the_container_cgroup_read_only(made, tmp_path, cgroupns):
    cg = made.cgroup()
    cg.apply(_res({"memory": {"limit": 64 << 20}}))
    dest = tmp_path / "cgfs"
    out = subprocess.run([sys.executable, "-c", _MOUNT_PROBE, json.dumps(cg.to_state()), str(dest),
                          "1" if cgroupns else "0"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert {"memory", "devices", "freezer", "pids"} <= set(got["dirs"])
    assert got["ro"] and got["limit"] == str(64 << 20)
    own_memory = cg.paths["memory"][len(layout().v1["memory"][0]):]
    # a bind shows the host path as the mount's root; a cgroup namespace makes it "/"
    assert got["roots"]["memory"] == ("/" if cgroupns else own_memory)


@pytest.mark.skipif(layout().unified is None, reason="no cgroup2 mount on this host")
def test_v2_device_rules_are_enforced_by_the_bpf_filter(made, token):
    from pyrunc.cgroups.v2 import V2Cgroup

    mount = layout().unified
    cg = V2Cgroup(mount, os.path.join(mount, f"{token}-v2dev"))
    made.groups.append(cg)
    cg.create()
    # deny all, then /dev/fuse for reading only; runc's default list keeps /dev/null and friends
    cg.apply(_res({"devices": [{"allow": False, "access": "rwm"},
                               {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]}))
    probe = ("true < /dev/null && echo null-ok; true > /dev/zero && echo zero-ok; "
             "true < /dev/fuse && echo fuse-read; true > /dev/fuse && echo fuse-write; "
             "true < /dev/kmsg && echo kmsg-read")
    out = subprocess.run([BUSYBOX, "sh", "-c", probe], preexec_fn=lambda: cg.add(os.getpid()),
                         capture_output=True, text=True)
    assert out.stdout.split() == ["null-ok", "zero-ok", "fuse-read"], out.stderr
    assert out.stderr.count("Operation not permitted") == 2


_DIRECT_READ = r"""
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)  # past the page cache, to the disk
buf = mmap.mmap(-1, 64 << 10)
for i in range(16):
    os.preadv(fd, [buf], i * (64 << 10))
"""


def _disk_of(path):
    """major:minor of the whole disk holding path (throttling needs a disk, not a partition)."""
    dev = os.stat(path).st_dev
    sysdir = os.path.realpath(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if not os.path.exists(os.path.join(sysdir, "queue")):
        sysdir = os.path.dirname(sysdir)
    with open(os.path.join(sysdir, "dev")) as f:
        major, minor = f.read().strip().split(":")
    return int(major), int(minor)


@pytest.mark.skipif(not V1_HOST, reason="v1 blkio controller")
def test_blkio_read_throttle_bounds_direct_reads(made, tmp_path):
    data = tmp_path / "data"
    with open(data, "wb") as f:
        f.write(os.urandom(1 << 20))
        os.fsync(f.fileno())
    try:
        major, minor = _disk_of(str(data))
    except OSError:
        pytest.skip("the temp dir is not on a block device")
    cg = made.cgroup()
    cg.apply(_res({"blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 256 << 10}]}}))
    t0 = time.monotonic()
    p = made.spawn(cg, [sys.executable, "-c", _DIRECT_READ, str(data)])
    assert p.wait(timeout=60) == 0
    took = time.monotonic() - t0
    assert took > 2.0, took  # 1 MiB at 256 KiB/s is ~4 s; unthrottled it is milliseconds
    reads = [e for e in cg.stats()["blkio"].get("ioServiceBytesRecursive", [])
             if e.get("major") == major and e.get("op") == "Read"]
    assert reads and reads[0]["value"] >= 1 << 20


_MOUNT_V2_PROBE = r"""
import json, os, sys
from pyrunc import cgroups, linux
cg, dest = cgroups.from_state(json.loads(sys.argv[1])), sys.argv[2]
linux.unshare(linux.CLONE_NEWNS)
linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
cg.add(os.getpid())
linux.unshare(linux.CLONE_NEWCGROUP)
cgroups.mount_cgroupfs(dest, cg, True, linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
with open("/proc/self/mountinfo") as f:
    line = [l.split() for l in f if dest in l][-1]
procs = open(os.path.join(dest, "cgroup.procs")).read().split()
print(json.dumps({"root": line[3], "type": line[line.index("-") + 1], "opts": line[5], "procs": procs}))
"""


@pytest.mark.skipif(layout().unified is None, reason="no cgroup2 mount on this host")
def test_mount_cgroupfs_v2_in_a_cgroup_namespace(made, token, tmp_path):
    from pyrunc.cgroups.v2 import V2Cgroup

    mount = layout().unified
    cg = V2Cgroup(mount, os.path.join(mount, f"{token}-v2mnt"))
    made.groups.append(cg)
    cg.create()
    dest = tmp_path / "cgfs"
    out = subprocess.run([sys.executable, "-c", _MOUNT_V2_PROBE, json.dumps(cg.to_state()), str(dest)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    # the namespace's root is the container's cgroup, holding just the probe
    assert got["type"] == "cgroup2" and got["root"] == "/" and got["opts"].startswith("ro,")
    assert len(got["procs"]) == 1


@pytest.mark.skipif(not V1_HOST, reason="v1 memory.oom_control")
def test_disable_oom_killer_leaves_the_process_waiting(made):
    cg = made.cgroup()
    cg.apply(_res({"memory": {"limit": 32 << 20, "swap": 32 << 20, "disableOOMKiller": True}}))
    watch = cg.oom_watch()
    try:
        p = made.spawn(cg, [sys.executable, "-c", "b = b'x' * (200 << 20)"], stderr=subprocess.DEVNULL)
        poller = select.poll()
        poller.register(watch, watch.events)
        assert poller.poll(10000) and watch.read() >= 1
        time.sleep(0.3)
        assert p.poll() is None  # not killed: it waits for memory instead
        with open(os.path.join(cg.paths["memory"], "memory.oom_control")) as f:
            control = f.read()
        assert "oom_kill_disable 1" in control and "under_oom 1" in control
    finally:
        watch.close()


@pytest.mark.skipif(not V1_HOST, reason="v1 cpu controller")
def test_cpu_realtime_budget_and_share_bounds(made):
    from pyrunc.errors import PyruncError

    cg = made.cgroup()
    cg.apply(_res({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 10000, "shares": 1024}}))
    with open(os.path.join(cg.paths["cpu"], "cpu.rt_runtime_us")) as f:
        assert f.read().strip() == "10000"
    with pytest.raises(PyruncError, match="the maximum allowed cpu-shares is 262144"):
        cg.apply(_res({"cpu": {"shares": 10**7}}))
