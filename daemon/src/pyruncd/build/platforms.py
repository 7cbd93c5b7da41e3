"""Build platforms: `--platform` and `FROM --platform=` read as containerd's platforms.Parse reads them
(BuildKit and the classic builder both use it, so its words are the error's), and whether this machine
runs a platform's binaries: a RUN on one it does not is refused in BuildKit's words.
"""

import re

from ..images.manifest import Platform, host_platform
from .errors import DockerfileError

_COMPONENT = re.compile(r"^[A-Za-z0-9_-]+$")
# GOOS and GOARCH values containerd knows: a lone word is an OS or an architecture
_OSES = frozenset("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 "
                  "solaris windows zos wasip1".split())
_ARCHES = frozenset("386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le "
                    "mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split())


class PlatformError(DockerfileError):
    pass


def _arch_and_variant(arch: str, variant: str) -> tuple[str, str]:
    """containerd's normalizeArch: the spellings of one architecture made one, and its default variant."""
    match arch:
        case "i386":
            return "386", ""
        case "x86_64" | "x86-64" | "amd64":
            return "amd64", "" if variant == "v1" else variant
        case "aarch64" | "arm64":
            return "arm64", "" if variant in ("8", "v8") else variant
        case "armhf":
            return "arm", "v7"
        case "armel":
            return "arm", "v6"
        case "arm":
            return "arm", {"": "v7", "5": "v5", "6": "v6", "7": "v7", "8": "v8"}.get(variant, variant)
    return arch, variant


def parse_platform(specifier: str) -> Platform:
    """`os[/arch[/variant]]`, or a lone architecture (this machine's OS), normalised; PlatformError in
    containerd's words."""
    parts = specifier.split("/")
    for part in parts:
        if not _COMPONENT.match(part):
            raise PlatformError(f'"{part}" is an invalid component of "{specifier}": platform specifier component '
                                f'must match "^[A-Za-z0-9_-]+$": invalid argument')
    host = host_platform()
    if len(parts) == 1:
        word = parts[0].lower()
        if word in _OSES:
            return Platform(word, host.architecture, host.variant)
        arch, variant = _arch_and_variant(word, "")
        if arch in _ARCHES:
            return Platform(host.os, arch, variant)
        raise PlatformError(f'"{specifier}": unknown operating system or architecture: invalid argument')
    if len(parts) > 3:
        raise PlatformError(f'"{specifier}": cannot parse platform specifier: invalid argument')
    arch, variant = _arch_and_variant(parts[1].lower(), parts[2].lower() if len(parts) == 3 else "")
    return Platform(parts[0].lower(), arch, variant)


def from_platform(specifier: str) -> Platform:
    """A `FROM --platform=` value once substituted, in BuildKit's (and the classic builder's) words."""
    try:
        return parse_platform(specifier)
    except PlatformError as error:
        raise PlatformError(f"failed to parse platform {specifier}: {error}") from None


def runs_here(platform: Platform) -> bool:
    """Whether this machine runs the platform's programs without an emulator (there is none here)."""
    host = host_platform()
    return (platform.os, platform.architecture) == (host.os, host.architecture) and platform.variant in ("", host.variant)


def refuse_foreign_run(platform: Platform) -> None:
    if not runs_here(platform):
        raise PlatformError(f"runtime execution on platform {platform} not supported")
