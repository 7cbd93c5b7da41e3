"""Docker's default seccomp profile as the OCI linux.seccomp section dockerd hands its runtime.

seccomp_default.json is moby's profiles/seccomp/default.json at commit
00f3d189e420d485e42d15fe494f96d272284e0e, unchanged (Apache License 2.0, © Docker, Inc. and the
moby contributors); the rules below choosing its entries by arch, capabilities and kernel follow
moby's profiles/seccomp package (our code; pyrunc's seccomp tests use it too).
"""

import functools
import json
import os
from pathlib import Path
from typing import Any

PROFILE = Path(__file__).with_name("seccomp_default.json")

# Go's GOARCH names, which the profile's includes/excludes use, and libseccomp's arch names
_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64"}
_SCMP_ARCH = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "s390x": "SCMP_ARCH_S390X",
              "ppc64le": "SCMP_ARCH_PPC64LE", "riscv64": "SCMP_ARCH_RISCV64"}


def _kernel() -> tuple[int, int]:
    major, minor = os.uname().release.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


def _applies(rule: dict[str, Any], arch: str, caps: set[str], kernel: tuple[int, int]) -> bool:
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if inc.get("minKernel") and kernel < tuple(int(x) for x in inc["minKernel"].split(".")[:2]):
        return False
    if arch in (exc.get("arches") or []):
        return False
    return not any(c in caps for c in exc.get("caps") or [])


@functools.cache
def _profile() -> dict[str, Any]:
    profile: dict[str, Any] = json.loads(PROFILE.read_text())
    return profile


def default_seccomp(caps: tuple[str, ...]) -> dict[str, Any] | None:
    """The linux.seccomp object for this machine and capability set; None on an arch the profile lacks."""
    arch = _GOARCH.get(os.uname().machine)
    if arch is None:
        return None
    profile = _profile()
    archs = []
    for entry in profile.get("archMap") or []:
        if entry["architecture"] == _SCMP_ARCH[arch]:
            archs = [entry["architecture"], *(entry.get("subArchitectures") or [])]
    out = {"defaultAction": profile["defaultAction"], "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    kernel, capset = _kernel(), set(caps)
    for rule in profile["syscalls"]:
        if _applies(rule, arch, capset, kernel):
            call = {"names": list(rule["names"]), "action": rule["action"], "args": list(rule.get("args") or [])}
            if "errnoRet" in rule:
                call["errnoRet"] = rule["errnoRet"]
            out["syscalls"].append(call)
    return out
