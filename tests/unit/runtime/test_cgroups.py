"""Pure logic of pyrunc.cgroups: layout detection, path rules, runc's v1->v2 translations,
and what apply() writes, on a fake cgroup tree (this host cannot give us a v2 host)."""

import os

import pytest
from pyrunc import cgroups, spec
from pyrunc.cgroups import discover, v2
from pyrunc.cgroups.devices import DEFAULT_ALLOWED, Rule, effective_rules
from pyrunc.commands.events import parse_duration
from pyrunc.commands.update import _changes, _from_flags, ram_in_bytes
from pyrunc.errors import PyruncError

HYBRID = """\
25 24 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
30 25 0:27 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
"""
V2 = "30 24 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
V1 = "\n".join(line for line in HYBRID.splitlines() if "cgroup2" not in line)


def test_layout_hybrid():
    lay = discover.parse_mountinfo(HYBRID)
    assert lay.mode == "hybrid"
    assert lay.unified == "/sys/fs/cgroup/unified"
    assert lay.v1["cpu"] == lay.v1["cpuacct"] == ("/sys/fs/cgroup/cpu,cpuacct", "/")
    assert set(lay.v1) == {"name=systemd", "cpu", "cpuacct", "memory", "devices"}


def test_layout_v2_and_v1():
    assert discover.parse_mountinfo(V2).mode == "v2"
    lay = discover.parse_mountinfo(V1)
    assert lay.mode == "v1" and lay.unified is None


def test_layout_of_this_host_is_known():
    assert cgroups.detect() in ("v1", "v2", "hybrid")


@pytest.mark.parametrize("given, cleaned", [
    ("/a/b/../c", "/a/c"), ("a/b", "a/b"), ("../../x", "x"), ("", ""), ("./a//b/", "a/b"),
])
def test_clean_path_keeps_relative_paths_inside(given, cleaned):
    assert cgroups.clean_path(given) == cleaned


def test_dir_in_absolute_relative_and_mount_root():
    assert cgroups._dir_in("/sys/fs/cgroup/memory", "/", "/own", "/abs/x") == "/sys/fs/cgroup/memory/abs/x"
    assert cgroups._dir_in("/sys/fs/cgroup/memory", "/", "/own", "rel") == "/sys/fs/cgroup/memory/own/rel"
    # inside a container the mount's root is the container's cgroup
    assert cgroups._dir_in("/sys/fs/cgroup/memory", "/ctr", "/ctr/sub", "x") == "/sys/fs/cgroup/memory/sub/x"


def test_expand_slice():
    assert cgroups.expand_slice("system.slice") == "/system.slice"
    assert cgroups.expand_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"
    assert cgroups.expand_slice("-.slice") == "/"
    for bad in ("a--b.slice", "noslice", "a/b.slice"):
        with pytest.raises(PyruncError, match="cgroupsPath"):
            cgroups.expand_slice(bad)


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="systemd runs here")
def test_systemd_driver_without_systemd_is_a_clear_error():
    with pytest.raises(PyruncError, match="systemd is not running"):
        cgroups.open_for_container("system.slice:runc:x", "x", systemd=True)


def test_runc_translations():
    assert v2.shares_to_weight(0) == 0
    assert v2.shares_to_weight(2) == 1
    assert v2.shares_to_weight(1024) == 39
    assert v2.shares_to_weight(262144) == 10000
    assert v2.blkio_weight_to_io_weight(10) == 1
    assert v2.blkio_weight_to_io_weight(1000) == 10000
    assert v2.swap_to_v2(0, -1) == -1
    assert v2.swap_to_v2(-1, 100) == -1
    assert v2.swap_to_v2(300, 100) == 200
    with pytest.raises(PyruncError, match="without memory limit"):
        v2.swap_to_v2(300, 0)
    with pytest.raises(PyruncError, match=">= memory limit"):
        v2.swap_to_v2(50, 100)


def test_device_rules_in_v1_syntax_and_runc_defaults_last():
    assert Rule(False).v1() == "a"
    assert Rule(True, "c", 1, 3, "rw").v1() == "c 1:3 rw"
    assert Rule(True, "c", 136, None).v1() == "c 136:* rwm"
    rules = effective_rules([spec.DeviceCgroup(allow=False, access="rwm")])
    assert rules[0] == Rule(False) and tuple(rules[1:]) == DEFAULT_ALLOWED
    with pytest.raises(PyruncError, match=r"devices\[0\]\.access"):
        effective_rules([spec.DeviceCgroup(allow=True, type="c", access="rwx")])


# --- a fake v2 tree ---------------------------------------------------------------

V2_FILES = ["cgroup.procs", "cgroup.freeze", "cgroup.events", "cgroup.controllers", "cgroup.subtree_control",
            "memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max", "cpu.max.burst",
            "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max", "memory.current", "memory.stat",
            "memory.events", "cpu.stat", "pids.current", "io.stat", "hugetlb.2MB.max"]


@pytest.fixture
def fake_v2(tmp_path):
    mount = tmp_path / "cg"
    d = mount / "ctr"
    d.mkdir(parents=True)
    for name in V2_FILES:
        (d / name).write_text("")
    (mount / "cgroup.controllers").write_text("cpu memory pids io\n")
    (mount / "cgroup.subtree_control").write_text("")
    return v2.V2Cgroup(str(mount), str(d))


def _res(obj):
    return spec.from_dict(spec.Resources, obj, "linux.resources")


def test_v2_apply_translates_v1_values(fake_v2):
    fake_v2.apply(_res({
        "memory": {"limit": 100 << 20, "swap": 150 << 20, "reservation": 50 << 20},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "pids": {"limit": 32},
        "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]},
        "unified": {"memory.low": "1234"},
    }))
    d = fake_v2.path

    def val(name):
        return open(os.path.join(d, name)).read()

    assert val("memory.max") == str(100 << 20)
    assert val("memory.swap.max") == str(50 << 20)
    assert val("memory.low") == "1234"  # unified overrides, written last
    assert val("cpu.weight") == "39"
    assert val("cpu.max") == "50000 100000"
    assert val("cpuset.cpus") == "0-1"
    assert val("pids.max") == "32"
    assert val("io.weight") == str(v2.blkio_weight_to_io_weight(500))
    assert val("io.max") == "8:0 rbps=1000"


def test_v2_unlimited_values(fake_v2):
    fake_v2.apply(_res({"memory": {"limit": -1}, "cpu": {"quota": -1, "period": 100000}, "pids": {"limit": -1}}))
    d = fake_v2.path
    assert open(os.path.join(d, "memory.max")).read() == "max"
    assert open(os.path.join(d, "memory.swap.max")).read() == "max"
    assert open(os.path.join(d, "cpu.max")).read() == "max 100000"
    assert open(os.path.join(d, "pids.max")).read() == "max"


def test_v2_errors_name_the_field(fake_v2):
    with pytest.raises(PyruncError, match=r"linux\.resources\.unified\.nope\.file"):
        fake_v2.apply(_res({"unified": {"nope.file": "1"}}))
    with pytest.raises(PyruncError, match=r"linux\.resources\.unified\.\.\./x"):
        fake_v2.apply(_res({"unified": {"../x": "1"}}))
    with pytest.raises(PyruncError, match=r"hugepageLimits\[0\]\.pageSize: huge page size '3MB'"):
        fake_v2.apply(_res({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]}))
    os.unlink(os.path.join(fake_v2.path, "hugetlb.2MB.max"))
    with pytest.raises(PyruncError, match=r"hugepageLimits\[0\]: the hugetlb controller is not enabled"):
        fake_v2.apply(_res({"hugepageLimits": [{"pageSize": "2MB", "limit": 1}]}))
    with pytest.raises(PyruncError, match="realtime"):
        fake_v2.apply(_res({"cpu": {"realtimeRuntime": 1000}}))


def test_v2_devices_warn_when_the_bpf_filter_cannot_attach(fake_v2):
    seen = []

    class Log:
        def warning(self, msg):
            seen.append(msg)

    cgroups.set_logger(Log())
    try:
        fake_v2.apply(_res({"devices": [{"allow": False, "access": "rwm"}]}))
    finally:
        cgroups.set_logger(None)
    assert seen and "not enforced" in seen[0]


def test_v2_create_enables_controllers_in_parents(fake_v2):
    fake_v2.create()
    assert open(os.path.join(fake_v2.mount, "cgroup.subtree_control")).read().endswith("+io")


def test_v2_stats_shape(fake_v2):
    d = fake_v2.path
    open(os.path.join(d, "cpu.stat"), "w").write("usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\n")
    open(os.path.join(d, "memory.current"), "w").write("4096\n")
    open(os.path.join(d, "memory.max"), "w").write("max\n")
    open(os.path.join(d, "memory.stat"), "w").write("anon 4096\nfile 0\n")
    open(os.path.join(d, "pids.current"), "w").write("2\n")
    open(os.path.join(d, "io.stat"), "w").write("8:0 rbytes=512 wbytes=0 rios=1 wios=0\n")
    s = fake_v2.stats()
    assert s["cpu"]["usage"] == {"total": 10000, "kernel": 4000, "user": 6000}
    assert s["memory"]["usage"] == {"limit": v2.MAX_UINT64, "usage": 4096, "failcnt": 0}
    assert s["memory"]["raw"] == {"anon": 4096, "file": 0}
    assert s["pids"] == {"current": 2}
    assert s["blkio"]["ioServiceBytesRecursive"][0] == {"major": 8, "op": "Read", "value": 512}
    assert set(s) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"}


def test_state_round_trip(fake_v2):
    assert cgroups.from_state(fake_v2.to_state()).to_state() == fake_v2.to_state()
    from pyrunc.cgroups.v1 import V1Cgroup

    one = V1Cgroup({"memory": "/m/x", "devices": "/d/x"}, "/u/x", "/u")
    assert cgroups.from_state(one.to_state()).to_state() == one.to_state()


# --- command helpers ----------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("4096", 4096), ("512k", 512 << 10), ("50M", 50 << 20), ("50m", 50 << 20), ("1.5g", 3 << 29),
    ("100MiB", 100 << 20), ("100mb", 100 << 20), ("10 k", 10 << 10),
])
def test_ram_in_bytes(text, value):
    assert ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["10x", "", "m", "1..5m", "5i"])
def test_ram_in_bytes_rejects(text):
    with pytest.raises(PyruncError, match="invalid size"):
        ram_in_bytes(text)


@pytest.mark.parametrize("text, seconds", [("5s", 5), ("1m30s", 90), ("250ms", 0.25), ("1.5h", 5400), ("0", 0)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "x", "1sm", "", "s"])
def test_parse_duration_rejects(text):
    with pytest.raises(PyruncError, match="-interval"):
        parse_duration(text)


def test_update_flags_and_merge_rules():
    req = _from_flags({"memory": "-1", "cpu_quota": "20000", "cpu_share": "512", "pids_limit": 5})
    assert req["memory"] == {"limit": -1} and req["cpu"] == {"quota": 20000, "shares": 512}
    with pytest.raises(PyruncError, match="invalid value for cpu-share: strconv.ParseUint"):
        _from_flags({"cpu_share": "-3"})
    # quota alone takes the saved period, as runc does; zero means "leave alone"
    out = _changes({"cpu": {"quota": 20000, "shares": 0}}, {"cpu": {"period": 50000}})
    assert out == {"cpu": {"quota": 20000, "period": 50000}}
    assert _changes({"devices": [{"allow": True}], "memory": {"kernel": 5}}, {}) == {}


def test_bpf_device_program_checks_rules_last_to_first():
    from pyrunc.cgroups import ebpf

    deny_all = Rule(False)
    prog = ebpf.compile_rules([Rule(True, "c", 1, 3), deny_all, Rule(True, "c", 1, 5, "rw")])
    # the rule before the last "a" rule is gone: one block (type, access, major, minor, verdict)
    assert sum(1 for ins in prog if ins[0] == ebpf._EXIT) == 2
    assert prog[-2] == ebpf._insn(ebpf._MOV64_K, 0, imm=0)  # default deny
    assert ebpf.compile_rules([])[-2] == ebpf._insn(ebpf._MOV64_K, 0, imm=1)  # no rules: allow
    # every jump lands inside the program
    for i, (code, _d, _s, off, _imm) in enumerate(prog):
        if code in (ebpf._JNE_K, ebpf._JEQ_K):
            assert 0 <= i + 1 + off < len(prog)


@pytest.mark.parametrize("current, limit, swap, first", [
    (100 << 20, 200 << 20, 300 << 20, "memory.memsw.limit_in_bytes"),  # growing: swap first
    (400 << 20, 200 << 20, 300 << 20, "memory.limit_in_bytes"),        # shrinking: memory first
    (100 << 20, -1, 0, "memory.memsw.limit_in_bytes"),                 # unlimited lifts swap too
])
def test_v1_memory_write_order_fits_the_kernel(tmp_path, monkeypatch, current, limit, swap, first):
    from pyrunc.cgroups import fs
    from pyrunc.cgroups.v1 import V1Cgroup

    (tmp_path / "memory.limit_in_bytes").write_text(f"{current}\n")
    (tmp_path / "memory.memsw.limit_in_bytes").write_text(f"{current}\n")
    written = []
    monkeypatch.setattr(fs, "write", lambda d, name, value, field: written.append((name, value)))
    V1Cgroup({"memory": str(tmp_path), "devices": str(tmp_path)}).apply(
        _res({"memory": {"limit": limit, "swap": swap}}))
    assert written[0][0] == first and len(written) == 2
    if limit == -1:
        assert dict(written) == {"memory.limit_in_bytes": -1, "memory.memsw.limit_in_bytes": -1}
