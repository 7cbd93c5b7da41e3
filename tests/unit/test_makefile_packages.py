"""Every program the tests, benches and the stack start on the host comes from a package the Makefile installs.

CI starts from a fresh Debian with only what `make install` puts there, so a program that is on a developer's
machine by chance (installed by hand, or pulled in as some package's Recommends) is a CI failure waiting to
happen. The Python sources are scanned for the programs they start (subprocess, asyncio, os.exec*,
shutil.which, and the binary paths they name); each must be in PROGRAMS, and each of PROGRAMS' packages in
the Makefile's APT_PACKAGES. A program reached only through a helper's *args is not seen by the scan: the
helper's callers must still list it here.
"""

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCANNED = ["tests", "bench", "spec-fixtures/spec_fixtures", "runtime/src", "shim/src", "ttrpc/src", "daemon/src", "cli/src"]

# program -> the Debian package that ships it (checked against dpkg below)
PROGRAMS = {
    "buildah": "buildah",
    "busybox": "busybox-static",
    "catatonit": "catatonit",
    "conmon": "conmon",
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "cp": "coreutils",
    "crun": "crun",
    "ctr": "containerd",
    "docker": "docker.io",
    "docker-compose": "docker-compose",
    "docker-registry": "docker-registry",
    "dpkg": "dpkg",
    "echo": "coreutils",
    "dockerd": "docker.io",
    "false": "coreutils",
    "gcc": "gcc",
    "git": "git",
    "ip": "iproute2",
    "iptables": "iptables",
    "iptables-restore": "iptables",
    "iptables-save": "iptables",
    "mount": "mount",
    "nft": "nftables",
    "nsenter": "util-linux",
    "openssl": "openssl",
    "podman": "podman",
    "podman-compose": "podman-compose",
    "ps": "procps",
    "rm": "coreutils",
    "runc": "runc",
    "setpriv": "util-linux",
    "sh": "dash",
    "skopeo": "skopeo",
    "sleep": "coreutils",
    "true": "coreutils",
    "umount": "mount",
    "unshare": "util-linux",
}
# started by the engines the tests drive, never by our code, so the scan cannot see them
STARTED_BY_PEERS = {
    "catatonit": "podman's pod infra container (test_engine_podman.py::test_pod_shares_namespaces)",
    "conmon": "podman's container monitor",
    "containerd-shim-runc-v2": "containerd and dockerd running containers on runc",
}
# the venv's own programs (make venv)
OURS = {"pyrunc", "pyruncd", "pyctl", "containerd-shim-pyrunc-v2"}
# packages installed for something other than a program
LIBRARIES = {
    "python3": "the interpreter the venv is made from",
    "python3-venv": "python3 -m venv",
    "python3-dev": "building python-prctl (pyrunc, shim)",
    "libcap-dev": "building python-prctl (pyrunc, shim)",
    "libseccomp2": "pyrunc's ctypes binding (runtime/src/pyrunc/libseccomp.py)",
    "containernetworking-plugins": "the CNI plugins in /usr/lib/cni that containerd's CRI plugin starts "
                                   "(tests/harness/cri.py)",
    # only a Recommends of podman's: without them podman-compose's networks would be CNI's, not what is measured
    "netavark": "podman's networks, started by podman from /usr/lib/podman (tests/harness/podman_net.py)",
    "aardvark-dns": "the names on podman's networks, started by netavark (bench/compose.py)",
}
# Debian's Essential: yes packages are on every system and apt will not remove them
ESSENTIAL = {"bash", "coreutils", "dash", "dpkg", "util-linux"}

# module -> its functions that start a program named by their first argument
_SPAWNERS = {
    "subprocess": {"run", "Popen", "check_output", "check_call", "call"},
    "asyncio": {"create_subprocess_exec"},
    "os": {"execv", "execve", "execvp", "execvpe", "posix_spawn", "posix_spawnp"},
    "shutil": {"which"},
}
_BINARY_PATH = re.compile(r"^/(?:usr/)?(?:local/)?s?bin/([\w.+-]+)$")


def apt_packages(makefile: str) -> list[str]:
    m = re.search(r"^APT_PACKAGES\s*:?=((?:.*\\\n)*.*)$", makefile, re.MULTILINE)
    assert m, "Makefile: no APT_PACKAGES"
    return m.group(1).replace("\\\n", " ").split()


def _spawner(node: ast.expr) -> bool:
    """subprocess.run, os.execv, shutil.which ...: a module's function that starts (or finds) a program"""
    return (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.attr in _SPAWNERS.get(node.value.id, ()))


def _program(node: ast.expr) -> str:
    """The program a literal argv (or path) names: its basename, or "" if it is not a literal."""
    if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
        node = node.elts[0]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.rsplit("/", 1)[-1]
    return ""


def _binary_paths(node: ast.AST):
    for c in ast.walk(node):
        if isinstance(c, ast.Constant) and isinstance(c.value, str) and (m := _BINARY_PATH.match(c.value)):
            yield m.group(1)


def programs_started(source: str) -> set[str]:
    """Programs a module starts: literal argv[0] of spawning calls, shutil.which's arguments, binary paths
    in module constants (RUNC = "/usr/sbin/runc") and hook paths."""
    found: set[str] = set()
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            found.update(_binary_paths(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func, args = node.func, node.args
            if isinstance(func, ast.Attribute) and func.attr == "to_thread" and args:  # (subprocess.run, argv)
                func, args = args[0], args[1:]
            if _spawner(func) and args:
                found.add(_program(args[0]))
            for kw in node.keywords:
                if kw.arg == "path":
                    found.update(_binary_paths(kw.value))
        elif isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and k.value == "path":
                    found.update(_binary_paths(v))
    found.discard("")
    return found


def _scan() -> dict[str, str]:
    """program -> the first source file that starts it"""
    seen: dict[str, str] = {}
    for top in SCANNED:
        for path in sorted((REPO / top).rglob("*.py")):
            for prog in programs_started(path.read_text()):
                seen.setdefault(prog, str(path.relative_to(REPO)))
    return seen


def test_the_scan_sees_the_ways_programs_are_started():
    src = '''
RUNC = "/usr/sbin/runc"
DOCKER = shutil.which("docker") or "/usr/bin/docker"
subprocess.run(["nft", "list", "ruleset"])
subprocess.Popen([RUNC, "list"])
asyncio.to_thread(subprocess.run, ["ps", "-ef"])
os.execv("/bin/busybox", ["chown"])
hooks = {"prestart": [{"path": "/bin/true"}]}
hook(path="/bin/false")
config["process"]["args"] = ["/bin/x"]
client.call("t.S", "Echo")
'''
    assert programs_started(src) == {"runc", "docker", "nft", "ps", "busybox", "true", "false"}


def test_every_program_started_is_known():
    unknown = {p: where for p, where in _scan().items() if p not in PROGRAMS and p not in OURS}
    assert not unknown, f"add these programs and their Debian packages to PROGRAMS (and APT_PACKAGES): {unknown}"


def test_every_program_comes_from_a_package_the_makefile_installs():
    installed = set(apt_packages((REPO / "Makefile").read_text())) | ESSENTIAL
    missing = {prog: pkg for prog, pkg in PROGRAMS.items() if pkg not in installed}
    assert not missing, f"Makefile APT_PACKAGES lacks the packages of: {missing}"
    assert set(STARTED_BY_PEERS) <= set(PROGRAMS)


def test_every_package_the_makefile_installs_is_needed():
    needed = set(PROGRAMS.values()) | set(LIBRARIES)
    unneeded = [p for p in apt_packages((REPO / "Makefile").read_text()) if p not in needed]
    assert not unneeded, f"APT_PACKAGES installs what nothing uses: {unneeded}"


def test_apt_packages_parses_continued_lines():
    assert apt_packages("X := 1\nAPT_PACKAGES := a b \\\n\tc \\\n\td\nY := 2\n") == ["a", "b", "c", "d"]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian system: no dpkg to ask")
def test_programs_come_from_the_packages_named():
    """PROGRAMS is right about Debian: dpkg says which package owns each program, by its /usr path, the
    /bin or /sbin path dpkg still records on a merged-/usr system, or what an alternatives link points to."""
    paths: dict[str, str] = {}
    for prog in PROGRAMS:
        for d in ("/usr/bin", "/usr/sbin", "/bin", "/sbin"):
            paths[f"{d}/{prog}"] = prog
            link = f"{d}/{prog}"
            while os.path.islink(link):  # each link on the way: a multi-call binary serves many programs
                link = os.path.join(os.path.dirname(link), os.readlink(link))
                paths.setdefault(os.path.normpath(link), prog)
    out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
    owners: dict[str, set[str]] = {}
    for line in out.splitlines():
        pkgs, sep, path = line.partition(": ")
        if sep and path in paths and not pkgs.startswith("diversion "):
            owners.setdefault(paths[path], set()).update(p.strip() for p in pkgs.split(","))
    wrong = {prog: (pkg, sorted(owners.get(prog, ()))) for prog, pkg in PROGRAMS.items()
             if pkg not in owners.get(prog, ())}
    assert not wrong, f"program: (PROGRAMS says, dpkg says; nothing = not installed, run make apt): {wrong}"


def test_ci_lints_then_runs_the_readme_test_command():
    steps = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
             if line.strip().startswith("make ")]
    assert steps == ["make lint", "make test"]
