"""linux.resources and linux.cgroupsPath through the runtime's CLI: limits land in the
container's cgroup and are enforced, the cgroup is mounted inside, and delete removes it.
The same tests pass with RUNTIME=/usr/sbin/runc."""

import os
import time

import pytest

from tests.harness.leaks import cgroup_dirs_naming
from tests.harness.runtime import IS_RUNC, cgroup_dir

V1 = os.path.isdir("/sys/fs/cgroup/memory") and os.path.isdir("/sys/fs/cgroup/devices")
pytestmark = pytest.mark.skipif(not V1, reason="reads cgroup v1 files (this host kind is hybrid)")



def read(d, name):
    with open(os.path.join(d, name)) as f:
        return f.read().strip()


def resources(**res):
    def edit(cfg):
        cfg["linux"].setdefault("resources", {}).update(res)
    return edit


def test_limits_land_in_the_cgroup_and_delete_removes_it(rt, bundle):
    b = bundle(["sleep", "100"], edit=resources(
        memory={"limit": 64 << 20, "swap": 96 << 20, "reservation": 32 << 20},
        cpu={"shares": 512, "quota": 30000, "period": 100000, "cpus": "0"},
        pids={"limit": 20}))
    cid = rt.new_id()
    rt("run", "-d", "--bundle", b, cid)
    pid = rt.state(cid)["pid"]
    mem, cpu = cgroup_dir(pid, "memory"), cgroup_dir(pid, "cpu")
    assert mem.endswith("/" + cid)  # the default cgroupsPath is the id, under our own cgroup
    assert read(mem, "memory.limit_in_bytes") == str(64 << 20)
    assert read(mem, "memory.memsw.limit_in_bytes") == str(96 << 20)
    assert read(mem, "memory.soft_limit_in_bytes") == str(32 << 20)
    assert read(cpu, "cpu.shares") == "512"
    assert read(cpu, "cpu.cfs_quota_us") == "30000" and read(cpu, "cpu.cfs_period_us") == "100000"
    assert read(cgroup_dir(pid, "cpuset"), "cpuset.cpus") == "0"
    assert read(cgroup_dir(pid, "pids"), "pids.max") == "20"
    dirs = [cgroup_dir(pid, c) for c in ("memory", "cpu", "devices", "freezer", "pids", "blkio")]
    rt("delete", "--force", cid)
    assert not [d for d in dirs if os.path.exists(d)]


def test_memory_limit_oom_kills_the_container(rt, bundle):
    b = bundle(["dd", "if=/dev/zero", "of=/dev/null", "bs=100M", "count=1"],
               edit=resources(memory={"limit": 32 << 20, "swap": 32 << 20}))
    p = rt("run", "--bundle", b, rt.new_id(), check=False, timeout=60)
    assert p.returncode == 137, p.stderr  # 128 + SIGKILL from the OOM killer


def test_pids_limit_stops_a_fork_bomb(rt, bundle):
    # the bomb runs in a child shell, which dies at the first refused fork; init then execs, not forks
    bomb = "sh -c 'for i in $(seq 40); do sleep 100 >/dev/null 2>&1 & done' 2>/dev/null; exec sleep 100"
    b = bundle(["sh", "-c", bomb], edit=resources(pids={"limit": 10}))
    cid = rt.new_id()
    rt("run", "-d", "--bundle", b, cid)
    pids_dir = cgroup_dir(rt.state(cid)["pid"], "pids")
    time.sleep(0.5)
    assert int(read(pids_dir, "pids.current")) <= 10
    assert int(read(pids_dir, "pids.events").split()[-1]) > 0  # "max N": forks refused
    rt("delete", "--force", cid)


def test_cpu_quota_bounds_measured_cpu(rt, bundle):
    b = bundle(["sh", "-c", "while :; do :; done"], edit=resources(cpu={"quota": 20000, "period": 100000}))
    cid = rt.new_id()
    rt("run", "-d", "--bundle", b, cid)
    acct = cgroup_dir(rt.state(cid)["pid"], "cpuacct")
    time.sleep(0.3)
    t0, u0 = time.monotonic(), int(read(acct, "cpuacct.usage"))
    time.sleep(1.0)
    share = (int(read(acct, "cpuacct.usage")) - u0) / 1e9 / (time.monotonic() - t0)
    rt("delete", "--force", cid)
    assert 0.05 < share < 0.3, share  # 20% of a CPU, where an unbounded loop takes ~100%


DEVICE_PROBE = "true < /dev/null && echo null-ok; true < /dev/zero && echo zero-ok; true < /dev/fuse && echo opened"


def _fuse(cfg):
    # /dev/fuse opens without any capability, so only the device cgroup can refuse it
    cfg["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600}]


def test_denied_device_cannot_be_opened(rt, bundle):
    p = rt("run", "--bundle", bundle(["sh", "-c", DEVICE_PROBE], edit=_fuse), rt.new_id(), check=False)
    assert "null-ok" in p.stdout and "zero-ok" in p.stdout  # the runtime's default allow list
    assert "opened" not in p.stdout and "Operation not permitted" in p.stdout + p.stderr


def test_allowed_device_can_be_opened(rt, bundle):
    def edit(cfg):
        _fuse(cfg)
        cfg["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"})
    p = rt("run", "--bundle", bundle(["sh", "-c", DEVICE_PROBE], edit=edit), rt.new_id(), check=False)
    assert "opened" in p.stdout, p.stdout + p.stderr


def test_absolute_cgroups_path(rt, bundle, token):
    path = f"/{token}-abs/ctr"
    b = bundle(["sleep", "100"], edit=lambda c: c["linux"].update(cgroupsPath=path))
    cid = rt.new_id()
    try:
        rt("run", "-d", "--bundle", b, cid)
        assert cgroup_dir(rt.state(cid)["pid"], "memory") == f"/sys/fs/cgroup/memory{path}"
        rt("delete", "--force", cid)
        assert not os.path.exists(f"/sys/fs/cgroup/memory{path}")
    finally:
        _remove_dirs_naming(f"{token}-abs")


def _remove_dirs_naming(name):
    """The runtime removes the container's own directory, not the parents it was asked to nest in."""
    for d in sorted(cgroup_dirs_naming(name), key=len, reverse=True):
        for sub in sorted((w[0] for w in os.walk(d)), key=len, reverse=True):
            os.rmdir(sub)


def test_relative_cgroups_path_nests_under_our_own_cgroup(rt, bundle, token):
    b = bundle(["sleep", "100"], edit=lambda c: c["linux"].update(cgroupsPath=f"{token}-rel/ctr"))
    cid = rt.new_id()
    own = cgroup_dir(os.getpid(), "memory")
    try:
        rt("run", "-d", "--bundle", b, cid)
        assert cgroup_dir(rt.state(cid)["pid"], "memory") == f"{own}/{token}-rel/ctr"
        rt("delete", "--force", cid)
    finally:
        _remove_dirs_naming(f"{token}-rel")


def test_parent_with_empty_cpuset_is_filled_from_its_ancestors(rt, bundle, token):
    # someone else made the parents: with clone_children 0 their cpus and mems start empty
    top = f"/sys/fs/cgroup/cpuset/{token}-cpuset"
    os.makedirs(f"{top}/mid")
    assert read(top, "cpuset.cpus") == "" and read(f"{top}/mid", "cpuset.mems") == ""
    b = bundle(["sleep", "100"], edit=lambda c: c["linux"].update(cgroupsPath=f"/{token}-cpuset/mid/ctr"))
    cid = rt.new_id()
    try:
        rt("run", "-d", "--bundle", b, cid)
        assert cgroup_dir(rt.state(cid)["pid"], "cpuset") == f"{top}/mid/ctr"
        root = "/sys/fs/cgroup/cpuset"
        for d in (top, f"{top}/mid", f"{top}/mid/ctr"):
            assert (read(d, "cpuset.cpus"), read(d, "cpuset.mems")) == (read(root, "cpuset.cpus"),
                                                                      read(root, "cpuset.mems"))
        rt("delete", "--force", cid)
    finally:
        _remove_dirs_naming(f"{token}-cpuset")


def test_cgroup_mount_inside_shows_own_cgroup_read_only(rt, bundle):
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes; ls /sys/fs/cgroup; "
              "touch /sys/fs/cgroup/memory/x 2>&1 || true; touch /sys/fs/cgroup/x 2>&1 || true")
    b = bundle(["sh", "-c", script], edit=resources(memory={"limit": 48 << 20}))
    p = rt("run", "--bundle", b, rt.new_id())
    lines = p.stdout.split()
    assert lines[0] == str(48 << 20)
    assert {"cpu", "memory", "devices", "freezer", "pids"} <= set(lines)
    assert p.stdout.count("Read-only file system") >= 1


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="systemd runs here")
def test_systemd_cgroup_driver_without_systemd_is_refused(rt, bundle):
    cid = rt.new_id()
    p = rt("--systemd-cgroup", "run", "-d", "--bundle", bundle(["sleep", "100"]), cid, check=False)
    assert p.returncode != 0 and "systemd" in p.stderr
    assert cid not in rt.ids()


def test_bad_resource_value_is_refused_with_nothing_left(rt, bundle):
    cid = rt.new_id()
    p = rt("run", "--bundle", bundle(["true"], edit=resources(memory={"swappiness": 200})), cid, check=False)
    assert p.returncode != 0 and "swappiness" in p.stderr
    if not IS_RUNC:
        assert "linux.resources.memory.swappiness" in p.stderr
    assert cid not in rt.ids()
