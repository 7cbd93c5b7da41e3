"""`pyrunc features`: the runtime-spec Features structure, and that it tells the truth."""

import json
import subprocess
import sys

import pytest
from pyrunc import capabilities, hooks, seccomp, spec


@pytest.fixture(scope="module")
def features():
    p = subprocess.run([sys.executable, "-m", "pyrunc", "features"], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)


def test_shape(features):
    assert set(features) == {"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations"}
    assert features["ociVersionMin"] == "1.0.0"
    assert set(features["linux"]) >= {"namespaces", "capabilities", "cgroup", "seccomp", "apparmor", "selinux"}
    assert features["linux"]["apparmor"] == {"enabled": False}
    assert features["linux"]["selinux"] == {"enabled": False}
    assert features["annotations"]["io.github.seccomp.libseccomp.version"].count(".") == 2


def test_lists_what_pyrunc_recognises(features):
    lx = features["linux"]
    assert features["hooks"] == list(hooks.KINDS)
    assert lx["namespaces"] == sorted(spec.NAMESPACE_TYPES)
    assert lx["capabilities"] == list(capabilities.known())
    assert lx["cgroup"]["v1"] and lx["cgroup"]["v2"] and not lx["cgroup"]["systemd"]
    sc = lx["seccomp"]
    assert sc["enabled"]
    assert sc["actions"] == sorted(seccomp.ACTIONS) and "SCMP_ACT_NOTIFY" not in sc["actions"]
    assert sc["operators"] == sorted(seccomp.OPERATORS)
    assert "SCMP_ARCH_X86_64" in sc["archs"] and set(sc["archs"]) <= set(seccomp.ARCHS)
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"]) == set(seccomp.FLAGS)
    opts = features["mountOptions"]
    assert {"ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "rprivate", "rshared"} <= set(opts)
    assert "tmpcopyup" not in opts  # accepted but ignored by pyrunc: not claimed


def test_every_listed_seccomp_name_is_recognised(features):
    sc = features["linux"]["seccomp"]
    obj = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": sc["archs"], "flags": sc["knownFlags"],
           "syscalls": [{"names": ["read"], "action": a, "args": [{"index": 0, "value": 0, "op": op}]}
                        for a, op in zip(sc["actions"], sc["operators"] * 2, strict=False)]}
    seccomp.check_names(spec.from_dict(spec.Seccomp, obj, "linux.seccomp"))


def test_every_listed_capability_validates(features):
    every = features["linux"]["capabilities"]
    capabilities.validate(spec.Capabilities(bounding=every, effective=every, permitted=every))
