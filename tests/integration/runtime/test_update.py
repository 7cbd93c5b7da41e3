"""`update` through the CLI: runc's flags and --resources change the live cgroup; runc's errors."""

import json
import os

import pytest

from tests.harness.runtime import IS_RUNC, cgroup_dir

V1 = os.path.isdir("/sys/fs/cgroup/memory")
pytestmark = pytest.mark.skipif(not V1, reason="reads cgroup v1 files (this host kind is hybrid)")



def read(pid, ctrl, name):
    with open(os.path.join(cgroup_dir(pid, ctrl), name)) as f:
        return f.read().strip()


@pytest.fixture
def running(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"]), cid)
    yield cid, rt.state(cid)["pid"]
    rt("delete", "--force", cid, check=False)


def test_update_flags(rt, running):
    cid, pid = running
    rt("update", "--memory", "64M", "--memory-swap", "128m", "--memory-reservation", "32MiB",
       "--cpu-share", "256", "--cpu-quota", "30000", "--cpu-period", "100000", "--cpuset-cpus", "0",
       "--pids-limit", "12", cid)
    assert read(pid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert read(pid, "memory", "memory.memsw.limit_in_bytes") == str(128 << 20)
    assert read(pid, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
    assert read(pid, "cpu", "cpu.shares") == "256"
    assert read(pid, "cpu", "cpu.cfs_quota_us") == "30000"
    assert read(pid, "cpuset", "cpuset.cpus") == "0"
    assert read(pid, "pids", "pids.max") == "12"
    # lowering memory below the current memory+swap limit needs the kernel's order: memory first
    rt("update", "--memory", "16M", "--memory-swap", "32M", cid)
    assert read(pid, "memory", "memory.limit_in_bytes") == str(16 << 20)
    assert read(pid, "memory", "memory.memsw.limit_in_bytes") == str(32 << 20)
    rt("update", "--memory", "-1", cid)
    assert int(read(pid, "memory", "memory.limit_in_bytes")) > 1 << 60


def test_update_resources_file_and_stdin(rt, running, tmp_path):
    cid, pid = running
    f = tmp_path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 100 << 20}, "pids": {"limit": 7}}))
    rt("update", "--resources", f, cid)
    assert read(pid, "memory", "memory.limit_in_bytes") == str(100 << 20)
    assert read(pid, "pids", "pids.max") == "7"
    rt("update", "-r", "-", cid, input=json.dumps({"cpu": {"shares": 300}}))
    assert read(pid, "cpu", "cpu.shares") == "300"
    assert read(pid, "pids", "pids.max") == "7"  # what was not given stays


def test_update_with_nothing_changes_nothing(rt, running):
    cid, pid = running
    before = read(pid, "memory", "memory.limit_in_bytes")
    rt("update", cid)
    assert read(pid, "memory", "memory.limit_in_bytes") == before


@pytest.mark.parametrize("args, words", [
    (["--memory", "10x"], "invalid value for memory: invalid size: '10x'"),
    (["--cpu-share", "abc"], 'invalid value for cpu-share: strconv.ParseUint: parsing "abc": invalid syntax'),
    (["--cpu-quota", "1.5"], 'invalid value for cpu-quota: strconv.ParseInt: parsing "1.5": invalid syntax'),
    (["--resources", "/nonexistent/res.json"], "open /nonexistent/res.json: no such file or directory"),
])
def test_update_bad_values_are_refused_with_runc_words(rt, running, args, words):
    cid, pid = running
    before = read(pid, "memory", "memory.limit_in_bytes")
    p = rt("update", *args, cid, check=False)
    assert p.returncode != 0 and words in p.stderr.replace('\\"', '"')  # logrus escapes quotes
    assert read(pid, "memory", "memory.limit_in_bytes") == before


def test_update_kernel_refusal_is_reported(rt, running):
    cid, pid = running
    rt("update", "--memory", "64M", "--memory-swap", "64M", cid)
    p = rt("update", "--memory-swap", "10M", cid, check=False)  # memory+swap below memory
    assert p.returncode != 0 and "memory.memsw.limit_in_bytes" in p.stderr and "invalid argument" in p.stderr


def test_update_stopped_or_missing_container(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["true"]), cid)
    rt.wait_status(cid, "stopped")
    p = rt("update", "--memory", "10M", cid, check=False)
    assert p.returncode != 0 and "container not running" in p.stderr
    rt("delete", cid)
    p = rt("update", "--memory", "10M", cid, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr


@pytest.mark.skipif(IS_RUNC, reason="runc keeps its own state.json, not the bundle config")
def test_update_is_saved_in_the_container_config(rt, running):
    cid, _pid = running
    rt("update", "--memory", "64M", "--pids-limit", "9", cid)
    with open(os.path.join(rt.root, cid, "config.json")) as f:
        res = json.load(f)["linux"]["resources"]
    assert res["memory"]["limit"] == 64 << 20 and res["pids"]["limit"] == 9
    assert res["devices"][0]["allow"] is False  # the rest of the config is kept


def test_update_a_paused_container(rt, running):
    cid, pid = running
    rt("pause", cid)
    rt("update", "--pids-limit", "5", cid)
    assert read(pid, "pids", "pids.max") == "5"
    assert rt.state(cid)["status"] == "paused"
    rt("resume", cid)
