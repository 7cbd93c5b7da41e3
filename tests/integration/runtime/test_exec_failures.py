"""A failed execve says why: run, create+start and exec, in runc's words ("exec /x: exec format error").

runc prints these on the process's stderr when its runtime side has already gone; pyrunc's
start/run/exec also fail with them (exit status and log.json), which the engines turn into the
task's error. The wording is the same either way.
"""

import json
import subprocess

import pytest

from tests.harness.runtime import IS_RUNC

BIG = "a" * 200_000  # one argument over MAX_ARG_STRLEN (32 pages): execve says E2BIG

CASES = {
    "format": (["/tmp/not-elf"], "exec /tmp/not-elf: exec format error"),
    "too-long": (["/bin/echo", BIG], "exec /bin/echo: argument list too long"),
    # the file is there (create's stat passes); execve's ENOENT is about its interpreter
    "no-interpreter": (["/tmp/script"], "exec /tmp/script: no such file or directory"),
}


@pytest.fixture
def files(tmp_path):
    """Executables execve refuses, bind-mounted read-only at /tmp of the shared rootfs."""
    d = tmp_path / "files"
    d.mkdir()
    (d / "not-elf").write_text("neither ELF nor #!\n")
    (d / "script").write_text("#!/no/such/interpreter\n")
    for f in d.iterdir():
        f.chmod(0o755)
    return d


def _with_files(files, args):
    def edit(c):
        c["process"]["args"] = args
        c["mounts"].append({"destination": "/tmp", "type": "bind", "source": str(files), "options": ["rbind", "ro"]})
    return edit


def _logged(log):
    return [json.loads(line)["msg"] for line in log.read_text().splitlines()] if log.exists() else []


@pytest.mark.parametrize("case", CASES)
def test_run_reports_the_failed_execve(rt, bundle, files, tmp_path, case):
    args, want = CASES[case]
    log = tmp_path / "log.json"
    cid = rt.new_id()
    p = rt("run", "--bundle", bundle(edit=_with_files(files, args)), cid, check=False, log=log, log_format="json")
    assert p.returncode != 0
    assert want in p.stderr, p.stderr
    if not IS_RUNC:  # runc's init prints it on the container's stderr, after its runtime side has let go
        assert p.returncode == 1
        assert any(want in m for m in _logged(log)), _logged(log)
    assert rt.ids() == []


@pytest.mark.parametrize("case", CASES)
def test_create_start_reports_the_failed_execve(rt, bundle, files, tmp_path, case):
    args, want = CASES[case]
    log = tmp_path / "log.json"
    cid = rt.new_id()
    out = tmp_path / "container-output"
    with open(out, "wb") as f:  # the container's stdio is create's
        subprocess.run(rt.cmd("create", "--bundle", bundle(edit=_with_files(files, args)), cid),
                       stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=30, check=True)
    try:
        p = rt("start", cid, check=False, log=log, log_format="json")
        assert rt.wait_status(cid, "stopped") == "stopped"
        assert want in p.stderr + out.read_text(), (p.stderr, out.read_text())
        if not IS_RUNC:  # runc's start has returned before the execve
            assert p.returncode != 0
            assert any(want in m for m in _logged(log)), _logged(log)
    finally:
        rt("delete", "-f", cid, check=False)


def test_create_refuses_a_missing_executable(rt, bundle, tmp_path):
    log = tmp_path / "log.json"
    p = rt("create", "--bundle", bundle(["/no/such/file"]), rt.new_id(), check=False, log=log, log_format="json")
    want = 'exec: "/no/such/file": stat /no/such/file: no such file or directory'
    assert p.returncode != 0 and want in p.stderr, p.stderr
    assert any(want in m for m in _logged(log))
    assert rt.ids() == []


@pytest.mark.parametrize("case", CASES)
def test_exec_reports_the_failed_execve(rt, bundle, files, tmp_path, case):
    args, want = CASES[case]
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(edit=_with_files(files, ["sleep", "1000"])), cid)
    try:
        # through --process: the argument is too long for the runtime's own command line too
        proc = tmp_path / "process.json"
        proc.write_text(json.dumps({"args": args, "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}))
        log = tmp_path / "log.json"
        p = rt("exec", "--process", proc, cid, check=False, log=log, log_format="json")
        assert p.returncode != 0
        assert want in p.stderr, p.stderr
        if not IS_RUNC:  # runc 1.1 closes its pipe first: 1 and the bare message on the process's stderr
            assert p.returncode == 255
            assert any(f"exec failed: unable to start container process: {want}" in m for m in _logged(log))
        assert rt("exec", cid, "true").returncode == 0  # the container is unharmed
    finally:
        rt("delete", "-f", cid, check=False)
