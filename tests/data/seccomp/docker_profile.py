"""Docker's seccomp profile format -> the OCI linux.seccomp section, as dockerd builds it."""

import json
import os

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "docker-default.json")

# dockerd's default capability set for a container
DOCKER_DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

# Go's GOARCH names, which the profile's includes/excludes use
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64"}
_SCMP_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "s390x": "SCMP_ARCH_S390X",
              "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64"}


def _kernel():
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _applies(rule, arch, caps, kernel):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if inc.get("minKernel"):
        want = tuple(int(x) for x in inc["minKernel"].split(".")[:2])
        if kernel < want:
            return False
    if arch in (exc.get("arches") or []):
        return False
    if any(c in caps for c in exc.get("caps") or []):
        return False
    return True


def oci_seccomp(caps=DOCKER_DEFAULT_CAPS, machine=None, path=PATH):
    """The linux.seccomp object dockerd would put in config.json for this machine and caps."""
    with open(path) as f:
        profile = json.load(f)
    arch = _GOARCH[machine or os.uname().machine]
    archs = []
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == _SCMP_ARCH[arch]:
            archs = [entry["architecture"]] + list(entry.get("subArchitectures") or [])
    out = {"defaultAction": profile["defaultAction"], "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    kernel = _kernel()
    for rule in profile["syscalls"]:
        if not _applies(rule, arch, set(caps), kernel):
            continue
        call = {"names": list(rule["names"]), "action": rule["action"], "args": list(rule.get("args") or [])}
        if "errnoRet" in rule:
            call["errnoRet"] = rule["errnoRet"]
        out["syscalls"].append(call)
    return out
