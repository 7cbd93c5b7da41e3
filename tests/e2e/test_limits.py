"""Limits and security through pyctl: cgroup files, OOM, read-only root, capabilities, ulimits, devices,
seccomp, privileged, update and stats."""

import os
from pathlib import Path

import pytest

from tests.harness.busybox_daemon import busybox_daemon, inspect, no_leaks, wait_for

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]
CGROUPS = Path("/sys/fs/cgroup")
DEFAULT_CAPEFF = 0xA80425FB  # docker's 14 default capabilities


@pytest.fixture(scope="module")
def daemon():
    with busybox_daemon() as d:
        yield d


@pytest.fixture
def d(daemon):
    with no_leaks(daemon):
        yield daemon


def cg(ctrl: str, cid: str, name: str) -> str:
    return (CGROUPS / ctrl / "pyruncd" / cid / name).read_text().strip()


def capeff(text: str) -> int:
    return int(next(line for line in text.splitlines() if line.startswith("CapEff:")).split()[1], 16)


def test_limits_reach_the_cgroup_update_changes_them_and_stats_shows_a_row(d):
    cid = d.pyctl("run", "-d", "--memory", "64m", "--memory-swap", "100m", "--cpus", "0.5", "--cpu-shares", "512",
                  "--cpuset-cpus", "0", "--pids-limit", "50", "busybox", "sleep", "60").stdout.strip()
    assert cg("memory", cid, "memory.limit_in_bytes") == str(64 << 20)
    assert cg("memory", cid, "memory.memsw.limit_in_bytes") == str(100 << 20)
    assert (cg("cpu", cid, "cpu.cfs_quota_us"), cg("cpu", cid, "cpu.cfs_period_us")) == ("50000", "100000")
    assert cg("cpu", cid, "cpu.shares") == "512"
    assert cg("cpuset", cid, "cpuset.cpus") == "0"
    assert cg("pids", cid, "pids.max") == "50"
    # the container sees its own limit too
    assert d.pyctl("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").stdout.strip() == str(64 << 20)
    hc = inspect(d, cid)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"]) == (64 << 20, 100 << 20, 5 * 10**8, 50)

    assert d.pyctl("update", "--memory", "80m", "--cpus", "1", "--pids-limit", "60", cid).stdout.strip() == cid
    assert cg("memory", cid, "memory.limit_in_bytes") == str(80 << 20)
    assert cg("cpu", cid, "cpu.cfs_quota_us") == "100000"
    assert cg("pids", cid, "pids.max") == "60"
    assert inspect(d, cid)["HostConfig"]["Memory"] == 80 << 20
    r = d.pyctl("update", "--memory", "1g", cid, check=False)
    assert r.returncode == 1 and "update the memoryswap at the same time" in r.stderr

    out = d.pyctl("stats", "--no-stream").stdout.splitlines()
    assert out[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                              "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    row = next(line for line in out if line.startswith(cid[:12])).split()
    assert row[2].endswith("%") and row[4] == "/" and row[5] == "80MiB" and row[-1] == "1"
    fmt = d.pyctl("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", cid).stdout.split()
    assert fmt == [inspect(d, cid)["Name"].lstrip("/"), "1"]


def test_update_of_a_stopped_container_applies_at_its_next_start(d):
    cid = d.pyctl("create", "busybox", "cat", "/sys/fs/cgroup/pids/pids.max").stdout.strip()
    d.pyctl("update", "--pids-limit", "33", "--restart", "on-failure:1", cid)
    assert inspect(d, cid)["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 1}
    d.pyctl("start", cid)
    d.pyctl("wait", cid)
    assert d.pyctl("logs", cid).stdout.strip() == "33"


def test_memory_limit_oom_kills_a_hog_and_inspect_says_so(d):
    r = d.pyctl("run", "--name", f"oom{os.getpid()}", "--memory", "16m", "busybox", "sh", "-c", "tail /dev/zero",
                check=False)
    assert r.returncode == 137
    state = inspect(d, f"oom{os.getpid()}")["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    # with a policy: OOM-killed again after its restart, and said so
    hog = d.pyctl("run", "-d", "--restart", "on-failure:1", "--memory", "16m", "busybox", "tail", "/dev/zero"
                  ).stdout.strip()
    wait_for(lambda: (lambda doc: (doc["RestartCount"], doc["State"]["Status"]) == (1, "exited"))(inspect(d, hog)))
    assert inspect(d, hog)["State"]["OOMKilled"] is True
    # a start by hand begins with a clean OOM flag, as docker's
    calm = d.pyctl("run", "-d", "--memory", "16m", "busybox", "true").stdout.strip()
    d.pyctl("wait", calm)
    assert inspect(d, calm)["State"]["OOMKilled"] is False


def test_read_only_root_refuses_writes(d):
    r = d.pyctl("run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /x", check=False)
    assert r.returncode == 1 and "Read-only file system" in r.stderr
    assert d.pyctl("run", "--rm", "--read-only", "busybox", "sh", "-c", "touch /dev/shm/x && echo ok").stdout == "ok\n"
    assert d.pyctl("run", "--rm", "busybox", "sh", "-c", "touch /x && echo ok").stdout == "ok\n"


def test_capabilities_in_capeff(d):
    status = lambda *flags: d.pyctl("run", "--rm", *flags, "busybox", "cat", "/proc/self/status").stdout  # noqa: E731
    assert capeff(status()) == DEFAULT_CAPEFF
    assert capeff(status("--cap-drop", "CHOWN")) == DEFAULT_CAPEFF & ~1
    assert capeff(status("--cap-drop", "ALL", "--cap-add", "NET_ADMIN")) == 1 << 12
    assert capeff(status("--cap-add", "SYS_ADMIN")) == DEFAULT_CAPEFF | 1 << 21
    r = d.pyctl("run", "--rm", "--cap-drop", "ALL", "busybox", "chown", "1", "/tmp", check=False)
    assert r.returncode == 1 and "Operation not permitted" in r.stderr


def test_privileged_has_every_capability_device_and_no_seccomp(d):
    bounding = next(int(line.split()[1], 16) for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("CapBnd:"))
    script = "cat /proc/self/status; echo devices $(ls /dev | wc -l); grep -c ' /proc/keys ' /proc/self/mountinfo"
    out = d.pyctl("run", "--rm", "--privileged", "busybox", "sh", "-c", script, check=False).stdout
    plain = d.pyctl("run", "--rm", "busybox", "sh", "-c", script, check=False).stdout
    assert capeff(out) == bounding and "Seccomp:\t0" in out and out.endswith("\n0\n")  # /proc/keys not masked
    assert "Seccomp:\t2" in plain and plain.endswith("\n1\n")
    devices = lambda text: int(text.split("devices ")[1].split()[0])  # noqa: E731
    assert devices(out) > devices(plain) + 10


def test_ulimits_devices_seccomp_and_no_new_privileges(d, tmp_path):
    out = d.pyctl("run", "--rm", "--ulimit", "nofile=100:200", "--device", "/dev/null:/dev/mynull:rw",
                  "--security-opt", "no-new-privileges", "busybox", "sh", "-c",
                  "ulimit -n; ulimit -Hn; echo x > /dev/mynull && echo wrote; grep NoNewPrivs /proc/self/status").stdout
    assert out.split("\n")[:3] == ["100", "200", "wrote"] and "NoNewPrivs:\t1" in out
    out = d.pyctl("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep", "Seccomp:",
                  "/proc/self/status").stdout
    assert out == "Seccomp:\t0\n"
    profile = tmp_path / "deny-mkdir.json"
    profile.write_text('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], '
                       '"action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}')
    r = d.pyctl("run", "--rm", "--security-opt", f"seccomp={profile}", "busybox", "mkdir", "/d", check=False)
    assert r.returncode == 1 and "Operation not permitted" in r.stderr


@pytest.mark.parametrize("flags,message", [
    (["--memory", "lots"], '''invalid argument "lots" for "-m, --memory" flag: invalid size: 'lots\''''),
    (["--memory", "1m"], "Minimum memory limit allowed is 6MB"),
    (["--cpus", "x"], 'invalid argument "x" for "--cpus" flag'),
    (["--ulimit", "bogus=1"], "invalid ulimit type: bogus"),
    (["--cap-add", "nope"], 'unknown capability: "CAP_NOPE"'),
    (["--security-opt", "what"], 'Invalid --security-opt: "what"'),
    (["--device", "/no/such/dev"], 'adding custom device "/no/such/dev"'),
    (["--restart", "sometimes"], "unknown policy 'sometimes'"),
    (["--health-interval", "5"], 'invalid argument "5" for "--health-interval" flag'),
])
def test_bad_flags_are_refused_in_docker_words_with_nothing_left(d, flags, message):
    r = d.pyctl("run", *flags, "busybox", "true", check=False)
    assert r.returncode == 125 and message in r.stderr, r.stderr
