"""Debian's podman 4.3 runs containers through pyrunc (`podman --runtime PYRUNC`), and through
runc the same way, so a failure that shows only with pyrunc is pyrunc's.

podman keeps its containers in one root/runroot (temp dirs of this module) whatever runtime made
them; conmon watches each container and calls the runtime for create/start/exec/kill/delete.
"""

import json
import os
import time
from pathlib import Path

import pytest

from tests.harness import leaks
from tests.harness.containerd import VENV_BIN
from tests.harness.dockerd import nft_objects, run_in_pty
from tests.harness.podman import ULIMITS, Podman, available

REPO = Path(__file__).resolve().parents[2]
IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
BINARIES = {"pyrunc": str(VENV_BIN / "pyrunc"), "runc": "/usr/sbin/runc"}

pytestmark = [
    pytest.mark.engines,
    pytest.mark.skipif(bool(available()), reason=available() or "podman available"),
    pytest.mark.skipif(not IMAGE_TAR.exists(), reason=f"{IMAGE_TAR} missing: run `make fixtures`"),
]

# runs until `podman stop` (busybox sh as pid 1 ignores SIGTERM without a trap)
SERVE = ["sh", "-c", "trap 'echo stopping; exit 0' TERM; echo started; while :; do sleep 0.1; done"]


@pytest.fixture(scope="module")
def podman():
    pm = Podman()
    nft_before, forward_before = nft_objects(), Path(IP_FORWARD).read_text()
    try:
        pm.load_image(IMAGE_TAR)
        yield pm
    finally:
        pm.stop()
    left = leaks.leaks(pm.token, pm.dir)
    assert not left, "\n".join(left)
    assert not pm.dir.exists()
    # no network was set up: no netavark chains, ip_forward as it was
    nft_after = nft_objects()
    assert nft_after[0] <= nft_before[0] and nft_after[1] <= nft_before[1], (nft_before, nft_after)
    assert Path(IP_FORWARD).read_text() == forward_before


@pytest.fixture(params=sorted(BINARIES))
def binary(request):
    if not os.access(BINARIES[request.param], os.X_OK):
        pytest.skip(f"{BINARIES[request.param]} is not installed")
    return BINARIES[request.param]


def test_run_output_and_exit_code(podman, binary):
    r = podman.podman("run", "--rm", *podman.run_flags(), podman.image, "sh", "-c",
                      "echo out; echo err >&2; exit 3", runtime=binary, check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, b"out\n", b"err\n")
    r = podman.podman("run", "--rm", "-i", *podman.run_flags(), podman.image, "sh", "-c", "read x; echo got $x",
                      runtime=binary, input=b"hello\n")
    assert r.stdout == b"got hello\n"


def test_detached_exec_stop_rm(podman, binary):
    name = f"serve-{os.path.basename(binary)}-{os.getpid()}"
    podman.podman("run", "-d", "--name", name, *podman.run_flags(), podman.image, *SERVE, runtime=binary)
    info = json.loads(podman.podman("inspect", name).stdout)[0]
    assert info["OCIRuntime"] == binary and info["State"]["Status"] == "running", info["State"]
    deadline = time.monotonic() + 10
    while b"started" not in podman.podman("logs", name).stdout and time.monotonic() < deadline:
        time.sleep(0.05)
    assert podman.podman("logs", name).stdout == b"started\n"

    r = podman.podman("exec", name, "sh", "-c", "echo from exec; exit 4", runtime=binary, check=False)
    assert (r.returncode, r.stdout) == (4, b"from exec\n"), r.stderr
    r = podman.podman("exec", "-i", name, "cat", runtime=binary, input=b"piped\n")
    assert r.stdout == b"piped\n"
    top = podman.podman("top", name, "pid", "args", runtime=binary).stdout.decode()
    assert "sh -c" in top, top

    podman.podman("stop", "-t", "10", name, runtime=binary)
    state = json.loads(podman.podman("inspect", name).stdout)[0]["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0), state
    assert podman.podman("logs", name).stdout == b"started\nstopping\n"
    podman.podman("rm", name, runtime=binary)
    assert podman.podman("ps", "-aq").stdout == b""
    assert not leaks.cgroup_dirs_naming(info["Id"])
    assert not leaks.mounts_naming(info["Id"])


def test_terminals_pause_restart(podman, binary):
    """`run -it` and `exec -it` through conmon's console socket, pause/unpause, exec as another
    user, restart and kill."""
    code, out = run_in_pty(podman.podman_argv("run", "-it", "--rm", *podman.run_flags(), podman.image, "sh",
                                              runtime=binary),
                           podman.env, steps=[(b"# ", b"tty; stty size; exit 7\r")])
    assert code == 7 and b"/dev/pts/0" in out and b"30 100" in out, out

    name = f"misc-{os.path.basename(binary)}-{os.getpid()}"
    podman.podman("run", "-d", "--name", name, *podman.run_flags(), podman.image, "sleep", "1000", runtime=binary)
    try:
        code, out = run_in_pty(podman.podman_argv("exec", "-it", name, "sh", runtime=binary), podman.env,
                               rows=24, cols=90, steps=[(b"# ", b"tty; stty size; exit 6\r")])
        assert code == 6 and b"/dev/pts/0" in out and b"24 90" in out, out

        podman.podman("pause", name, runtime=binary)
        assert podman.podman("inspect", "-f", "{{.State.Status}}", name).stdout == b"paused\n"
        podman.podman("unpause", name, runtime=binary)
        assert podman.podman("inspect", "-f", "{{.State.Status}}", name).stdout == b"running\n"
        assert podman.podman("exec", "-u", "1000:1000", name, "id", "-u", runtime=binary).stdout == b"1000\n"

        pid = int(podman.podman("inspect", "-f", "{{.State.Pid}}", name).stdout)
        podman.podman("restart", "-t", "0", name, runtime=binary)
        assert not Path(f"/proc/{pid}").exists()
        assert podman.podman("exec", name, "echo", "again", runtime=binary).stdout == b"again\n"
        podman.podman("kill", "-s", "KILL", name, runtime=binary)
        podman.podman("wait", name, runtime=binary)
        assert podman.podman("inspect", "-f", "{{.State.ExitCode}}", name).stdout == b"137\n"
    finally:
        podman.podman("rm", "-f", "-t", "0", name, runtime=binary)


def test_pod_shares_namespaces(podman, binary):
    """A pod: podman's infra container (catatonit) holds the pid/ipc/uts namespaces, and the
    runtime joins the pod's containers to them by path."""
    pod = f"pod-{os.path.basename(binary)}-{os.getpid()}"
    podman.podman("pod", "create", "--name", pod, "--network", "none", "--share", "ipc,uts,pid",
                  "--cgroup-parent", podman.cgroup_parent, runtime=binary)
    try:
        # the pod does not share its (empty) network: each container says none for itself
        podman.podman("run", "-d", "--pod", pod, "--network", "none", *ULIMITS, podman.image, "sleep", "1000",
                      runtime=binary)
        r = podman.podman("run", "--rm", "--pod", pod, "--network", "none", *ULIMITS, podman.image, "sh", "-c",
                          "ps -o pid,comm | awk 'NR > 1 {print $2}'; hostname", runtime=binary)
        names = r.stdout.decode().split()
        assert names[:2] == ["catatonit", "sleep"] and names[-1] == pod, r  # then this sh and its ps
    finally:
        podman.podman("pod", "rm", "-f", "-t", "0", pod, runtime=binary)


def _sleeper(pm: Podman, binary: str, tag: str) -> str:
    name = f"{tag}-{os.path.basename(binary)}-{os.getpid()}"
    pm.podman("run", "-d", "--name", name, *pm.run_flags(), pm.image, "sleep", "1000", runtime=binary)
    return name


def test_missing_command_is_reported(podman, binary):
    """The runtime's error from its log.json reaches the user, with podman's exit codes."""
    name = os.path.basename(binary)
    r = podman.podman("run", "--rm", *podman.run_flags(), podman.image, "/nonexistent", runtime=binary, check=False)
    assert r.returncode == 127, r
    assert (f'{name} create failed: unable to start container process: exec: "/nonexistent": '
            "stat /nonexistent: no such file or directory").encode() in r.stderr, r.stderr
    ctr = _sleeper(podman, binary, "missing")
    try:
        r = podman.podman("exec", ctr, "/nonexistent", runtime=binary, check=False)
        assert r.returncode == 127, r
        assert b'exec failed: unable to start container process: exec: "/nonexistent": stat' in r.stderr, r
    finally:
        podman.podman("rm", "-f", "-t", "0", ctr, runtime=binary)


def test_non_executable_command_fails_create(podman, binary):
    r = podman.podman("run", "--rm", *podman.run_flags(), podman.image, "/etc/passwd", runtime=binary, check=False)
    assert r.returncode == 126, r
    assert b'exec: "/etc/passwd": permission denied' in r.stderr, r.stderr


def test_exec_of_non_executable_is_reported(podman, binary):
    ctr = _sleeper(podman, binary, "noexec")
    try:
        r = podman.podman("exec", ctr, "/etc/passwd", runtime=binary, check=False)
        assert r.returncode == 126, r
        assert b'exec failed: unable to start container process: exec: "/etc/passwd": permission denied' in r.stderr, r
    finally:
        podman.podman("rm", "-f", "-t", "0", ctr, runtime=binary)
