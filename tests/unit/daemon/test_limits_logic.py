"""Limits, restart and health: flag parsing with docker's wording, and the rules (pure logic, no kernel)."""

import asyncio
import json

import pytest
from pyruncd.containers import health, hostconfig, resources, restart
from pyruncd.containers.policies import restart as restart_policy
from pyruncd.containers.spec import Process, Settings
from pyruncd.containers.types import Config, HostConfig, HostFlags
from pyruncd.errors import InvalidArgument

# ---- sizes, cpus, pids


@pytest.mark.parametrize("text,n", [("512m", 512 << 20), ("1g", 1 << 30), ("1.5G", 3 << 29), ("100", 100),
                                    ("64MB", 64 << 20), ("64MiB", 64 << 20), ("2k", 2048), ("1 g", 1 << 30)])
def test_sizes_are_binary_as_docker(text, n):
    assert resources.parse_size(text, "-m, --memory") == n


def test_bad_memory_names_the_flag():
    with pytest.raises(InvalidArgument, match=r"""invalid argument "x" for "-m, --memory" flag: invalid size: 'x'"""):
        resources.parse_resources(memory="x")


def test_memory_rules():
    with pytest.raises(InvalidArgument, match="Minimum memory limit allowed is 6MB"):
        resources.parse_resources(memory="1m")
    with pytest.raises(InvalidArgument, match="always set the Memory limit"):
        resources.parse_resources(memory_swap="100m")
    with pytest.raises(InvalidArgument, match="memoryswap limit should be larger"):
        resources.parse_resources(memory="100m", memory_swap="50m")
    r = resources.parse_resources(memory="64m")
    assert r.to_oci()["memory"] == {"limit": 64 << 20, "swap": 128 << 20}  # docker: swap defaults to twice
    assert resources.parse_resources(memory="64m", memory_swap="-1").to_oci()["memory"]["swap"] == -1


def test_cpus_pids_cpuset():
    r = resources.parse_resources(cpus="0.5", cpu_shares="512", cpuset_cpus="0", pids_limit="50")
    assert r.to_oci() == {"cpu": {"period": 100000, "quota": 50000, "shares": 512, "cpus": "0"},
                          "pids": {"limit": 50}}
    assert resources.parse_resources(pids_limit="0").to_oci()["pids"] == {"limit": -1}
    with pytest.raises(InvalidArgument, match='"abc" for "--cpus" flag: failed to parse abc as a rational number'):
        resources.parse_resources(cpus="abc")
    with pytest.raises(InvalidArgument, match="Range of CPUs is from 0.01"):
        resources.parse_resources(cpus="1000")
    with pytest.raises(InvalidArgument, match='"x" for "--pids-limit" flag'):
        resources.parse_resources(pids_limit="x")
    with pytest.raises(InvalidArgument, match="Invalid value a-b for cpuset cpus"):
        resources.parse_resources(cpuset_cpus="a-b")


def test_update_keeps_what_is_not_given():
    base = resources.parse_resources(memory="64m", cpus="1")
    r = resources.parse_resources(base=base, pids_limit="10")
    assert (r.memory, r.nano_cpus, r.pids_limit) == (64 << 20, 10**9, 10)
    with pytest.raises(InvalidArgument, match="update the memoryswap at the same time"):
        resources.parse_resources(base=resources.parse_resources(memory="64m", memory_swap="100m"), memory="200m")


# ---- security


def _security(**kw):
    args = dict(cap_add=[], cap_drop=[], privileged=False, read_only=False, security_opt=[], devices=[], ulimits=[])
    args.update(kw)
    return resources.parse_security(**args)


def test_ulimits():
    s = _security(ulimits=["nofile=100:200", "nproc=50", "nofile=1:1"])
    assert [(u.name, u.soft, u.hard) for u in s.ulimits] == [("nofile", 100, 200), ("nproc", 50, 50)]
    with pytest.raises(InvalidArgument, match='"foo=1" for "--ulimit" flag: invalid ulimit type: foo'):
        _security(ulimits=["foo=1"])
    with pytest.raises(InvalidArgument, match="soft limit must be less than or equal to hard limit: 3 > 2"):
        _security(ulimits=["nofile=3:2"])
    with pytest.raises(InvalidArgument, match="invalid ulimit argument: nofile"):
        _security(ulimits=["nofile"])


def test_devices():
    d = resources.parse_device
    assert d("/dev/null") == resources.Device("/dev/null", "/dev/null", "rwm")
    assert d("/dev/null:r") == resources.Device("/dev/null", "/dev/null", "r")
    assert d("/dev/null:/dev/x") == resources.Device("/dev/null", "/dev/x", "rwm")
    assert d("/dev/null:/dev/x:rw") == resources.Device("/dev/null", "/dev/x", "rw")
    with pytest.raises(InvalidArgument, match="invalid device mode: rwz"):
        d("/dev/null:/dev/x:rwz")
    with pytest.raises(InvalidArgument, match="bad format for path"):
        d("null")


def test_capabilities_as_docker_tweaks_them():
    defaults = ["CAP_CHOWN", "CAP_KILL"]
    caps = resources.capabilities
    assert caps(defaults, _security(cap_add=["net_admin"], cap_drop=["chown"])) == ["CAP_KILL", "CAP_NET_ADMIN"]
    assert caps(defaults, _security(cap_drop=["ALL"], cap_add=["SYS_TIME"])) == ["CAP_SYS_TIME"]
    assert "CAP_SYS_ADMIN" in caps(defaults, _security(cap_add=["ALL"]))
    assert "CAP_SYS_ADMIN" not in caps(defaults, _security(cap_add=["ALL"], cap_drop=["SYS_ADMIN"]))
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_NOPE"'):
        _security(cap_add=["nope"])


def test_security_opts():
    assert _security(security_opt=["no-new-privileges"]).no_new_privileges
    assert not _security(security_opt=["no-new-privileges=false"]).no_new_privileges
    assert _security(security_opt=["seccomp=unconfined"]).seccomp == "unconfined"
    with pytest.raises(InvalidArgument, match='Invalid --security-opt: "bogus"'):
        _security(security_opt=["bogus"])
    with pytest.raises(InvalidArgument, match="not JSON"):
        _security(security_opt=["seccomp=/no/such.json"])


def _doc():
    return {"process": {"capabilities": {k: ["CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}},
            "root": {"path": "rootfs", "readonly": False},
            "mounts": [{"destination": "/sys", "options": ["nosuid", "ro"]}],
            "linux": {"resources": {"devices": [{"allow": False, "access": "rwm"}]}, "maskedPaths": ["/proc/kcore"],
                      "readonlyPaths": ["/proc/sys"], "seccomp": {"defaultAction": "SCMP_ACT_ERRNO"}}}


def test_apply_to_spec():
    doc = _doc()
    resources.apply(doc, resources.parse_resources(memory="64m"),
                    _security(read_only=True, security_opt=["seccomp=unconfined", "no-new-privileges"],
                              ulimits=["nofile=10:20"], devices=["/dev/null:/dev/n:r"]))
    assert doc["root"]["readonly"] and doc["process"]["noNewPrivileges"]
    assert "seccomp" not in doc["linux"]
    assert doc["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert doc["linux"]["resources"]["memory"]["limit"] == 64 << 20
    assert doc["linux"]["devices"][0]["path"] == "/dev/n" and doc["linux"]["devices"][0]["type"] == "c"
    assert doc["linux"]["resources"]["devices"][-1] == {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                        "access": "r"}


def test_privileged_spec():
    doc = _doc()
    resources.apply(doc, resources.Resources(), _security(privileged=True))
    assert doc["linux"]["maskedPaths"] == [] and doc["linux"]["readonlyPaths"] == []
    assert doc["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert "seccomp" not in doc["linux"] and "rw" in doc["mounts"][0]["options"]
    assert any(d["path"] == "/dev/null" for d in doc["linux"]["devices"])
    assert set(doc["process"]["capabilities"]["effective"]) == set(resources.bounding_caps())


def test_custom_seccomp_profile_in_docker_format():
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                                                                "subArchitectures": ["SCMP_ARCH_X86"]}],
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}, {"name": "chmod",
                                                                                          "action": "SCMP_ACT_ERRNO"}]}
    doc = _doc()
    resources.apply(doc, resources.Resources(), _security(security_opt=["seccomp=" + json.dumps(profile)]))
    sec = doc["linux"]["seccomp"]
    assert sec["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert sec["syscalls"] == [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [], "errnoRet": 1},
                               {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": []}]


# ---- restart


def test_restart_policy_parsing():
    p = restart.parse_restart
    assert p("") == restart.RestartPolicy("no", 0)
    assert p("on-failure:3") == restart.RestartPolicy("on-failure", 3)
    assert p("always") == restart.RestartPolicy("always", 0)
    with pytest.raises(InvalidArgument, match="unknown policy 'sometimes'"):
        p("sometimes")
    with pytest.raises(InvalidArgument, match="can only be used with 'on-failure'"):
        p("always:3")
    with pytest.raises(InvalidArgument, match="cannot be negative"):
        p("on-failure:-1")
    with pytest.raises(InvalidArgument, match="Conflicting options: --restart and --rm"):
        p("always", auto_remove=True)
    assert p("no", auto_remove=True).name == "no"


def test_restart_decisions():
    d, P = restart.decide, restart.RestartPolicy
    assert not d(P("no"), 1, 0, False)
    assert d(P("always"), 0, 5, True)
    assert d(P("unless-stopped"), 0, 0, False) and not d(P("unless-stopped"), 0, 0, True)
    assert d(P("on-failure"), 1, 100, False) and not d(P("on-failure"), 0, 0, False)
    assert d(P("on-failure", 2), 1, 1, False) and not d(P("on-failure", 2), 1, 2, False)


def test_backoff_doubles_from_100ms_and_resets_after_a_long_run():
    b = restart_policy.next_backoff
    assert [b(0, 0), b(0.1, 1), b(0.2, 1), b(0.4, 1)] == [0.1, 0.2, 0.4, 0.8]
    assert b(40, 1) == 60 and b(60, 1) == 60
    assert b(6.4, 10) == 0.1


def test_restarts_schedule_cancel_and_stop():
    started = []

    async def start(cid, wanted):
        if wanted():
            started.append(cid)

    async def main():
        r = restart_policy.Restarts(start)
        P = restart.RestartPolicy
        assert r.exited("a", P("always"), 0, 0, False, 0)
        assert r.restarting("a")
        await asyncio.sleep(0.15)
        assert started == ["a"] and not r.restarting("a")
        # stopped while running: the exit that follows restarts nothing, even with always
        r.cancel("a", running=True)
        assert not r.exited("a", P("always"), 0, 0, False, 0)
        # a pending restart is dropped by a stop
        assert r.exited("a", P("always"), 0, 0, False, 0)
        r.cancel("a", running=False)
        await asyncio.sleep(0.3)
        assert started == ["a"]
        r.close()

    asyncio.run(main())


# ---- health


def test_durations():
    pd = health.parse_duration
    assert pd("1m30s", "--health-interval") == 90 and pd("500ms", "x") == 0.5 and pd("0", "x") == 0
    assert pd("1.5s", "x") == 1.5
    with pytest.raises(InvalidArgument, match='"5" for "--health-interval" flag: time: invalid duration "5"'):
        pd("5", "--health-interval")


def test_healthcheck_merges_image_and_flags():
    image = {"config": {"Healthcheck": {"Test": ["CMD", "true"], "Interval": 5 * 10**9, "Retries": 7}}}
    h = health.resolve(image)
    assert (h.test, h.interval, h.timeout, h.retries) == (["CMD", "true"], 5, 30, 7)
    assert h.argv() == ["true"]
    h = health.resolve(image, cmd="test -f /x", timeout="2s")
    assert h.argv() == ["/bin/sh", "-c", "test -f /x"] and (h.interval, h.timeout, h.retries) == (5, 2, 7)
    assert health.resolve(image, disabled=True) is None
    assert health.resolve({"config": {"Healthcheck": {"Test": ["NONE"]}}}) is None
    assert health.resolve({}) is None
    with pytest.raises(InvalidArgument, match="--no-healthcheck conflicts"):
        health.resolve(image, cmd="true", disabled=True)


def test_health_state_machine():
    h = health.Health()
    r = lambda code: health.Result("", "", code, "")  # noqa: E731
    assert not h.record(r(1), retries=2, in_start_period=True)   # start period: failures do not count
    assert h.failing_streak == 0 and h.status == "starting"
    assert not h.record(r(1), retries=2, in_start_period=False)
    assert h.record(r(1), retries=2, in_start_period=False) and h.status == "unhealthy"
    assert h.record(r(0), retries=2, in_start_period=False) and h.status == "healthy" and h.failing_streak == 0
    for _ in range(6):
        h.record(r(0), retries=2, in_start_period=False)
    assert len(h.log) == health.MAX_LOG


# ---- stored with the container


def test_host_config_round_trips_through_the_record_json():
    flags = HostFlags(memory="64m", ulimits=["nofile=1:2"], devices=["/dev/null"], restart="on-failure:2",
                                 health_cmd="true", health_interval="1s", cap_drop=["ALL"])
    host = hostconfig.resolve(flags, {}, auto_remove=False, log_defaults={})
    cfg = Config(process=Process(["true"], [], "/", ""), settings=Settings("h"), chain_ids=[], host=host)
    cfg.run.restart_count = 2
    back = Config.loads(cfg.dumps())
    assert back.host == host and back.run.restart_count == 2
    # records written before these fields existed load with the defaults
    old = json.loads(cfg.dumps())
    del old["host"], old["run"]
    assert Config.loads(json.dumps(old)).host == HostConfig()
