"""A command that execve refuses, through pyctl: why reaches run, start -a, inspect's State.Error and exec."""

import json
import os

import pytest

from tests.harness.busybox_daemon import busybox_daemon

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture
def vol(tmp_path):
    """Host files execve refuses, for -v .../x."""
    (tmp_path / "not-elf").write_text("neither ELF nor #!\n")
    (tmp_path / "script").write_text("#!/no/such/interpreter\n")
    for name in ("not-elf", "script"):
        (tmp_path / name).chmod(0o755)
    big = tmp_path / "big.env"  # one variable over MAX_ARG_STRLEN, through a file: pyctl's own argv has a limit too
    big.write_text("BIG=" + "a" * 200_000 + "\n")
    return tmp_path


def _cases(vol):
    return {
        "format": (["-v", f"{vol}:/x", "busybox", "/x/not-elf"], "exec /x/not-elf: exec format error", 126),
        "interpreter": (["-v", f"{vol}:/x", "busybox", "/x/script"], "exec /x/script: no such file or directory", 127),
        "too-long": (["--env-file", str(vol / "big.env"), "busybox", "true"],
                     "exec /bin/true: argument list too long", 125),
    }


@pytest.mark.parametrize("case", ["format", "interpreter", "too-long"])
def test_run_start_and_inspect_say_why(d, vol, case):
    args, want, status = _cases(vol)[case]
    name = f"bad-{case}-{os.getpid()}"
    try:
        r = d.pyctl("run", "--name", name, *args, check=False)
        assert r.returncode == status and want in r.stderr, r
        state = json.loads(d.pyctl("inspect", name).stdout)[0]["State"]
        assert want in state["Error"] and not state["Running"], state
        r = d.pyctl("start", "-a", name, check=False)
        assert r.returncode == status and want in r.stderr, r
    finally:
        d.pyctl("rm", "-f", name, check=False)


def test_exec_says_why(d, vol):
    name = f"execs-{os.getpid()}"
    d.pyctl("run", "-d", "--name", name, "-v", f"{vol}:/x", "busybox", "sleep", "1000")
    try:
        for cmd, want in (("/x/not-elf", "exec /x/not-elf: exec format error"),
                          ("/x/script", "exec /x/script: no such file or directory"),
                          ("nope", 'exec: "nope": executable file not found in $PATH')):
            r = d.pyctl("exec", name, cmd, check=False)
            assert r.returncode in (126, 127), r
            assert f"OCI runtime exec failed: exec failed: unable to start container process: {want}" in r.stderr, r
        assert d.pyctl("exec", name, "true").returncode == 0
    finally:
        d.pyctl("rm", "-f", name, check=False)
