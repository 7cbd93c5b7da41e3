"""`features` through the runtime's command line: the runtime-spec Features structure."""

import json

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def test_features_document(rt):
    p = rt("features")
    doc = json.loads(p.stdout)
    assert doc["ociVersionMin"].startswith("1.0") and doc["ociVersionMax"].startswith("1.")
    assert doc["hooks"] == HOOKS
    assert {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate", "rslave"} <= set(doc["mountOptions"])
    lx = doc["linux"]
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} <= set(lx["namespaces"])
    assert lx["capabilities"][:3] == ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"]
    assert "CAP_SYS_ADMIN" in lx["capabilities"]
    assert lx["cgroup"]["v1"] is True and lx["cgroup"]["v2"] is True
    sc = lx["seccomp"]
    assert sc["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE",
            "SCMP_ACT_LOG", "SCMP_ACT_KILL_PROCESS"} <= set(sc["actions"])
    assert sorted(sc["operators"]) == ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                       "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
    assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"} <= set(sc["archs"])
    assert isinstance(lx["apparmor"]["enabled"], bool) and isinstance(lx["selinux"]["enabled"], bool)
    assert "io.github.seccomp.libseccomp.version" in doc["annotations"]


def test_features_takes_no_arguments(rt):
    assert rt("features", "extra", check=False).returncode != 0
