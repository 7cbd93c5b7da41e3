"""About a hundred malformed config.json files fed to `create`: each one must fail with a non-zero
exit and one line on stderr that names the field or the JSON position, with no traceback, no
Python exception name and no path inside pyrunc, and leave nothing behind (the rt fixture checks
for state, cgroups, mounts and processes). With RUNTIME=/usr/sbin/runc the same cases run
without the wording check: runc's words are Go's."""

import json
import re

import pytest

from tests.harness.runtime import IS_RUNC, ROOTFS, base_config

BIG = 1 << 70
U32_MAX = (1 << 32) - 1
PYTHON_INSIDE = re.compile(r"Traceback|\b[A-Z]\w*(Error|Exception)\b|\.py\b|/pyrunc/|\[Errno")


def at(path, value):
    """An edit setting a dotted path (digits index lists) of the default config."""
    def edit(cfg):
        *parents, last = path.split(".")
        d = cfg
        for k in parents:
            d = d[int(k)] if k.isdigit() else d.setdefault(k, {})
        d[int(last) if last.isdigit() else last] = value
    return edit


def drop(path):
    def edit(cfg):
        *parents, last = path.split(".")
        d = cfg
        for k in parents:
            d = d[k]
        del d[last]
    return edit


def namespace(kind, path=None, keep=True):
    """An edit giving the namespace entry of this type a path, or with keep=False removing it."""
    def edit(cfg):
        entries = [n for n in cfg["linux"]["namespaces"] if n["type"] != kind]
        cfg["linux"]["namespaces"] = entries + ([{"type": kind, **({"path": path} if path else {})}] if keep else [])
    return edit


def raw(text):
    return text


def resources(**res):
    return at("linux.resources", res)


def default_text():
    return json.dumps(base_config(["true"]))


# (id, an edit of the default config or the raw text, words the one line must hold)
CASES = [
    # --- JSON itself -------------------------------------------------------------------------
    ("empty", raw(""), "line 1 column 1"),
    ("just-brace", raw("{"), "unexpected EOF"),
    ("truncated-end", raw(default_text()[:-1]), "unexpected EOF"),
    ("truncated-middle", raw(default_text()[:200]), "unexpected EOF"),
    ("truncated-in-string", raw('{"ociVersion": "1.0'), "Unterminated string"),
    ("missing-colon", raw('{"ociVersion" "1.0.2"}'), "line 1 column 15"),
    ("trailing-comma", raw('{"ociVersion": "1.0.2",}'), "line 1 column 24"),
    ("second-line", raw('{\n"ociVersion": "1.0.2"\n x}'), "line 3 column 2"),
    ("extra-data", raw(default_text() + " x"), "Extra data"),
    ("bad-escape", raw('{"ociVersion": "\\x"}'), "Invalid"),
    ("deep-arrays", raw("[" * 100000), "max depth"),
    ("deep-objects", raw('{"a":' * 50000), "max depth"),
    ("not-utf8", raw(b'{"ociVersion": "\xff"}'), "invalid UTF-8 at byte 16"),
    ("huge-literal", raw('{"ociVersion": "1.0.2", "process": {"user": {"uid": 1' + "0" * 5000 + "}}}"),
     "integer too large"),
    ("top-level-array", raw("[]"), "config: expected an object"),
    ("top-level-null", raw("null"), "config: expected an object"),
    ("top-level-string", raw('"x"'), "config: expected an object"),
    ("nan", at("process.user.uid", float("nan")), "process.user.uid"),
    ("infinity", at("process.user.uid", float("inf")), "process.user.uid"),
    # --- strings the kernel takes as C strings -------------------------------------------------
    ("nul-in-arg", at("process.args", ["tr\0ue"]), "process.args[0]"),
    ("nul-in-env", at("process.env", ["A=\0"]), "process.env[0]"),
    ("nul-in-cwd", at("process.cwd", "/\0"), "process.cwd"),
    ("nul-in-mount", at("mounts.0.destination", "/p\0"), "mounts[0].destination"),
    ("nul-in-sysctl-key", at("linux.sysctl", {"net.ipv4.\0": "1"}), "linux.sysctl"),
    ("surrogate-in-cwd", raw(default_text().replace('"cwd": "/"', '"cwd": "/\\ud800"')), "process.cwd"),
    # --- top level --------------------------------------------------------------------------
    ("no-ociVersion", drop("ociVersion"), "ociVersion"),
    ("ociVersion-number", at("ociVersion", 5), "ociVersion"),
    ("no-root", drop("root"), "root"),
    ("root-path-empty", at("root", {"path": ""}), "root.path"),
    ("root-path-missing", at("root", {"path": "/nonexistent-rootfs"}), "root.path"),
    ("root-path-file", at("root", {"path": ROOTFS + "/bin/busybox"}), "root.path"),
    ("root-readonly-string", at("root.readonly", "yes"), "root.readonly"),
    ("root-string", at("root", "/"), "root"),
    ("hostname-number", at("hostname", 5), "hostname"),
    ("annotations-number", at("annotations", {"a": 1}), "annotations.a"),
    ("annotations-array", at("annotations", ["a"]), "annotations"),
    # --- process ----------------------------------------------------------------------------
    ("no-process", drop("process"), "process"),
    ("args-empty", at("process.args", []), "process.args"),
    ("args-string", at("process.args", "true"), "process.args"),
    ("args-number", at("process.args", [1]), "process.args[0]"),
    ("cwd-relative", at("process.cwd", "tmp"), "process.cwd"),
    ("cwd-missing", drop("process.cwd"), "process.cwd"),
    ("cwd-is-a-file", at("process.cwd", "/bin/busybox"), "process.cwd"),
    ("env-no-equals", at("process.env", ["NOEQUALS"]), "process.env[0]"),
    ("env-object", at("process.env", {"A": "1"}), "process.env"),
    ("terminal-string", at("process.terminal", "true"), "process.terminal"),
    ("terminal-no-socket", at("process.terminal", True), "console socket"),
    ("uid-minus-one", at("process.user.uid", -1), "process.user.uid: uids and gids must be in range 0-2147483647"),
    ("uid-u32-max", at("process.user.uid", U32_MAX), "process.user.uid: uids and gids must be in range"),
    ("uid-2-31", at("process.user.uid", 1 << 31), "process.user.uid: uids and gids must be in range"),
    ("uid-2-32", at("process.user.uid", 1 << 32), "process.user.uid: uids and gids must be in range"),
    ("uid-2-70", at("process.user.uid", BIG), "process.user.uid: uids and gids must be in range"),
    ("uid-float", at("process.user.uid", 1.5), "process.user.uid"),
    ("uid-string", at("process.user.uid", "0"), "process.user.uid"),
    ("uid-bool", at("process.user.uid", True), "process.user.uid"),
    ("gid-minus-one", at("process.user.gid", -1), "process.user.gid: uids and gids must be in range"),
    ("gid-u32-max", at("process.user.gid", U32_MAX), "process.user.gid: uids and gids must be in range"),
    ("gids-minus-one", at("process.user.additionalGids", [5, -1]), "process.user.additionalGids[1]: uids"),
    ("gids-u32-max", at("process.user.additionalGids", [U32_MAX]), "process.user.additionalGids[0]: uids"),
    ("gids-string", at("process.user.additionalGids", "5"), "process.user.additionalGids"),
    ("umask-negative", at("process.user.umask", -1), "process.user.umask"),
    ("umask-huge", at("process.user.umask", BIG), "process.user.umask"),
    ("console-height-negative", at("process.consoleSize", {"height": -1, "width": 80}), "process.consoleSize.height"),
    ("console-width-huge", at("process.consoleSize", {"height": 24, "width": 70000}), "process.consoleSize.width"),
    ("console-string", at("process.consoleSize", "24x80"), "process.consoleSize"),
    ("oom-too-high", at("process.oomScoreAdj", 5000), "process.oomScoreAdj"),
    ("oom-too-low", at("process.oomScoreAdj", -1001), "process.oomScoreAdj"),
    ("oom-huge", at("process.oomScoreAdj", BIG), "process.oomScoreAdj"),
    ("rlimit-negative", at("process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": -1, "soft": 1}]),
     "process.rlimits[0].hard"),
    ("rlimit-huge", at("process.rlimits", [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1 << 64}]),
     "process.rlimits[0].soft"),
    ("rlimit-unknown", at("process.rlimits", [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]), "RLIMIT_FOO"),
    ("rlimit-no-type", at("process.rlimits", [{"hard": 1, "soft": 1}]), "process.rlimits[0].type"),
    ("caps-unknown", at("process.capabilities.bounding", ["CAP_NOPE"]), "CAP_NOPE"),
    ("caps-string", at("process.capabilities.bounding", "CAP_CHOWN"), "process.capabilities.bounding"),
    ("nnp-string", at("process.noNewPrivileges", "yes"), "process.noNewPrivileges"),
    # --- mounts -------------------------------------------------------------------------------
    ("mount-relative", at("mounts.0.destination", "proc"), "mounts[0].destination"),
    ("mount-no-destination", at("mounts", [{"type": "tmpfs", "source": "tmpfs"}]), "mounts[0].destination"),
    ("mount-type-number", at("mounts.0.type", 5), "mounts[0].type"),
    ("mount-options-string", at("mounts.0.options", "ro"), "mounts[0].options"),
    ("mounts-object", at("mounts", {"destination": "/x"}), "mounts"),
    ("mount-bind-no-source", at("mounts", [{"destination": "/mnt", "type": "bind", "options": ["bind"]}]),
     "mounts[0]"),
    # --- namespaces and id mappings ---------------------------------------------------------------
    ("ns-unknown", at("linux.namespaces", [{"type": "foo"}]), "linux.namespaces[0].type"),
    ("ns-duplicate", at("linux.namespaces", [{"type": "mount"}, {"type": "mount"}]), "linux.namespaces[1].type"),
    ("ns-relative-path", at("linux.namespaces", [{"type": "mount"}, {"type": "network", "path": "x"}]),
     "linux.namespaces[1].path"),
    ("ns-missing-path", namespace("network", "/nonexistent"), "linux.namespaces"),
    ("ns-object", at("linux.namespaces", {"type": "mount"}), "linux.namespaces"),
    ("maps-without-userns", at("linux.uidMappings", [{"containerID": 0, "hostID": 1000, "size": 1}]),
     "linux.uidMappings"),
    ("userns-without-maps", at("linux.namespaces", [{"type": "mount"}, {"type": "user"}]), "linux.uidMappings"),
    ("map-negative", at("linux.uidMappings", [{"containerID": -1, "hostID": 0, "size": 1}]),
     "linux.uidMappings[0].containerID"),
    ("map-size-zero", lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                                 c["linux"].update(uidMappings=[{"containerID": 0, "hostID": 100000, "size": 0}],
                                                   gidMappings=[{"containerID": 0, "hostID": 100000, "size": 1}])),
     "linux.uidMappings[0]"),
    ("map-reaches-no-id", lambda c: (c["linux"]["namespaces"].append({"type": "user"}),
                                     c["linux"].update(
                                         uidMappings=[{"containerID": 0, "hostID": 100000, "size": 1}],
                                         gidMappings=[{"containerID": 0, "hostID": U32_MAX - 5, "size": 10}])),
     "linux.gidMappings[0]"),
    # --- resources ------------------------------------------------------------------------------
    ("memory-2-70", resources(memory={"limit": BIG}), "linux.resources.memory.limit"),
    ("memory-1-byte", resources(memory={"limit": 1}), "linux.resources.memory.limit: minimum memory limit"),
    ("memory-4k", resources(memory={"limit": 4096}), "linux.resources.memory.limit: minimum memory limit"),
    ("memory-minus-five", resources(memory={"limit": -5}), "linux.resources.memory.limit"),
    ("memory-string", resources(memory={"limit": "1G"}), "linux.resources.memory.limit"),
    ("memory-swap-huge", resources(memory={"limit": 64 << 20, "swap": 1 << 64}), "linux.resources.memory.swap"),
    ("memory-reservation-negative", resources(memory={"reservation": -2}), "linux.resources.memory.reservation"),
    ("memory-swappiness", resources(memory={"swappiness": 200}), "linux.resources.memory.swappiness"),
    ("cpu-shares-negative", resources(cpu={"shares": -1}), "linux.resources.cpu.shares"),
    ("cpu-quota-huge", resources(cpu={"quota": 1 << 63}), "linux.resources.cpu.quota"),
    ("cpu-period-negative", resources(cpu={"period": -1}), "linux.resources.cpu.period"),
    ("cpu-cpus-number", resources(cpu={"cpus": 5}), "linux.resources.cpu.cpus"),
    ("cpu-cpus-garbage", resources(cpu={"cpus": "abc"}), "linux.resources.cpu.cpus"),
    ("cpu-rt-huge", resources(cpu={"realtimeRuntime": 1 << 64}), "linux.resources.cpu.realtimeRuntime"),
    ("pids-huge", resources(pids={"limit": 1 << 64}), "linux.resources.pids.limit"),
    ("pids-string", resources(pids={"limit": "10"}), "linux.resources.pids.limit"),
    ("pids-missing-limit", resources(pids={}), "linux.resources.pids.limit"),
    ("blkio-weight-huge", resources(blockIO={"weight": 70000}), "linux.resources.blockIO.weight"),
    ("blkio-weight-negative", resources(blockIO={"weight": -1}), "linux.resources.blockIO.weight"),
    ("blkio-device-no-minor", resources(blockIO={"weightDevice": [{"major": 8, "weight": 10}]}),
     "linux.resources.blockIO.weightDevice[0].minor"),
    ("blkio-rate-negative", resources(blockIO={"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate"),
    ("hugepage-negative", resources(hugepageLimits=[{"pageSize": "2MB", "limit": -1}]),
     "linux.resources.hugepageLimits[0].limit"),
    ("net-classid-negative", resources(network={"classID": -1}), "linux.resources.network.classID"),
    ("unified-number", resources(unified={"memory.max": 5}), "linux.resources.unified.memory.max"),
    ("cgroup-devices-allow-string", resources(devices=[{"allow": "yes"}]), "linux.resources.devices[0].allow"),
    ("cgroup-devices-no-allow", resources(devices=[{}]), "linux.resources.devices[0].allow"),
    ("cgroupsPath-number", at("linux.cgroupsPath", 5), "linux.cgroupsPath"),
    # --- devices, sysctl, seccomp, hooks, the rest -------------------------------------------------
    ("device-type", at("linux.devices", [{"type": "x", "path": "/dev/x", "major": 1, "minor": 3}]),
     "linux.devices[0].type"),
    ("device-relative", at("linux.devices", [{"type": "c", "path": "dev/x", "major": 1, "minor": 3}]),
     "linux.devices[0].path"),
    ("device-major-negative", at("linux.devices", [{"type": "c", "path": "/dev/x", "major": -1, "minor": 3}]),
     "linux.devices[0].major"),
    ("device-minor-huge", at("linux.devices", [{"type": "c", "path": "/dev/x", "major": 1, "minor": 1 << 40}]),
     "linux.devices[0].minor"),
    ("device-uid-negative", at("linux.devices", [{"type": "c", "path": "/dev/x", "major": 1, "minor": 3,
                                                  "uid": -1}]), "linux.devices[0].uid"),
    ("device-no-major", at("linux.devices", [{"type": "c", "path": "/dev/x"}]), "linux.devices[0]"),
    ("sysctl-not-namespaced", at("linux.sysctl", {"kernel.panic": "1"}), "linux.sysctl.kernel.panic"),
    ("sysctl-number", at("linux.sysctl", {"net.ipv4.ip_forward": 1}), "linux.sysctl.net.ipv4.ip_forward"),
    ("sysctl-host-netns", lambda c: (c["linux"].update(sysctl={"net.ipv4.ip_forward": "1"}),
                                     namespace("network", keep=False)(c)), "linux.sysctl.net.ipv4.ip_forward"),
    ("propagation-unknown", at("linux.rootfsPropagation", "weird"), "linux.rootfsPropagation"),
    ("seccomp-no-default", at("linux.seccomp", {"syscalls": []}), "linux.seccomp.defaultAction"),
    ("seccomp-bad-action", at("linux.seccomp", {"defaultAction": "SCMP_ACT_NOPE"}), "SCMP_ACT_NOPE"),
    ("seccomp-errno-negative", at("linux.seccomp", {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": -1}),
     "linux.seccomp.defaultErrnoRet"),
    ("seccomp-arg-index", at("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": -1, "value": 0, "op": "SCMP_CMP_EQ"}]}]}),
     "linux.seccomp.syscalls[0].args[0].index"),
    ("seccomp-arg-value", at("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1 << 64,
                                                                  "op": "SCMP_CMP_EQ"}]}]}),
     "linux.seccomp.syscalls[0].args[0].value"),
    ("seccomp-arch", at("linux.seccomp", {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_NOPE"]}),
     "SCMP_ARCH_NOPE"),
    ("hook-no-path", at("hooks", {"prestart": [{"args": ["x"]}]}), "hooks.prestart[0].path"),
    ("hook-timeout-negative", at("hooks", {"prestart": [{"path": "/bin/true", "timeout": -1}]}),
     "hooks.prestart[0].timeout"),
    ("hooks-string", at("hooks", {"prestart": "/bin/true"}), "hooks.prestart"),
    ("hostname-without-uts", namespace("uts", keep=False), "hostname"),
    ("domainname-without-uts", lambda c: (c.update(domainname="x"), c.pop("hostname"),
                                          namespace("uts", keep=False)(c)), "domainname"),
    ("linux-array", at("linux", []), "linux"),
    ("masked-paths-string", at("linux.maskedPaths", "/proc/kcore"), "linux.maskedPaths"),
]


@pytest.mark.parametrize("change,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_config_is_refused_in_one_line_with_nothing_left(rt, tmp_path, change, words):
    b = tmp_path / "bundle"
    b.mkdir()
    if callable(change):
        cfg = base_config(["true"])
        change(cfg)
        change = json.dumps(cfg)
    (b / "config.json").write_bytes(change if isinstance(change, bytes) else change.encode("utf-8", "surrogatepass"))
    p = rt("create", "--bundle", b, rt.new_id(), check=False)
    assert p.returncode != 0, "accepted"
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert not PYTHON_INSIDE.search(lines[0]), lines[0]
    if not IS_RUNC:
        assert words in lines[0], lines[0]


def test_the_table_is_about_a_hundred_distinct_cases():
    assert len(CASES) >= 100
    assert len({c[0] for c in CASES}) == len(CASES)
