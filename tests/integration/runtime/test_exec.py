"""exec: argv form with its flags, --process, --detach, errors."""

import json
import os

import pytest


@pytest.fixture
def running(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "1000"], edit=lambda c: c.__setitem__("hostname", "inside")), cid)
    yield cid
    rt("delete", "-f", cid, check=False)


def test_exec_joins_the_container(rt, running):
    out = rt("exec", running, "sh", "-c", "hostname; readlink /proc/self/ns/pid; ps -o pid,comm | grep sleep")
    lines = out.stdout.splitlines()
    pid = rt.state(running)["pid"]
    assert lines[0] == "inside"
    assert lines[1] == os.readlink(f"/proc/{pid}/ns/pid")
    assert lines[2].split() == ["1", "sleep"]


def test_exec_exit_code_and_output(rt, running):
    p = rt("exec", running, "sh", "-c", "echo out; echo err >&2; exit 7", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (7, "out\n", "err\n")


def test_exec_flags(rt, running):
    out = rt("exec", "--env", "A=1", "--env", "B=2", "--cwd", "/etc", "--user", "65534:65534", "-g", "10",
             running, "sh", "-c", "echo $A$B; pwd; id -u; id -g; id -G").stdout.split()
    assert out[:5] == ["12", "/etc", "65534", "65534", "65534"] or out[:4] == ["12", "/etc", "65534", "65534"]
    assert "10" in out[4:]


def test_exec_process_file(rt, running, tmp_path):
    proc = {"args": ["sh", "-c", "echo $X; pwd"], "env": ["PATH=/bin:/usr/bin", "X=from-file"], "cwd": "/tmp",
            "user": {"uid": 0, "gid": 0}, "terminal": False}
    f = tmp_path / "process.json"
    f.write_text(json.dumps(proc))
    assert rt("exec", "--process", f, running).stdout.split() == ["from-file", "/tmp"]


def test_exec_process_file_errors_name_field(rt, running, tmp_path):
    f = tmp_path / "process.json"
    f.write_text(json.dumps({"args": ["true"], "cwd": "relative"}))
    p = rt("exec", "--process", f, running, check=False)
    assert p.returncode != 0 and "cwd" in p.stderr.lower()


def test_exec_detach_with_pid_file(rt, running, tmp_path):
    pidfile = tmp_path / "exec.pid"
    rt("exec", "-d", "--pid-file", pidfile, running, "sleep", "1000")
    pid = int(pidfile.read_text())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
    assert pid in json.loads(rt("ps", "-f", "json", running).stdout)


def test_exec_missing_program(rt, running):
    p = rt("exec", running, "no-such-program", check=False)
    assert p.returncode == 255 and "executable file not found" in p.stderr


def test_exec_into_stopped_container(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["true"]), cid)
    rt.wait_status(cid, "stopped")
    p = rt("exec", cid, "true", check=False)
    assert p.returncode == 255 and "cannot exec in a stopped container" in p.stderr
    rt("delete", cid)


def test_exec_with_capability(rt, running):
    out = rt("exec", "--cap", "CAP_SYS_ADMIN", running, "grep", "CapEff", "/proc/self/status").stdout.split()
    assert int(out[1], 16) >> 21 & 1  # CAP_SYS_ADMIN is bit 21


def test_exec_no_new_privs(rt, running):
    out = rt("exec", "--no-new-privs", running, "grep", "NoNewPrivs", "/proc/self/status").stdout.split()
    assert out == ["NoNewPrivs:", "1"]


@pytest.mark.parametrize("flags", [
    ["--user", "4294967295"], ["--user", "-1"], ["--user", "0:4294967295"], ["-u", "2147483648"],
    ["--additional-gids", "4294967295"], ["-g", "-1"],
], ids=["uid-u32-max", "uid-minus-one", "gid-u32-max", "uid-2-31", "gids-u32-max", "gids-minus-one"])
def test_exec_ids_out_of_range_are_refused_not_run_as_root(rt, running, flags):
    # the kernel reads -1 (4294967295) as "unchanged": the process would stay root
    p = rt("exec", *flags, running, "id", check=False)
    assert p.returncode != 0 and "uid=0" not in p.stdout
    assert "uids and gids must be in range 0-2147483647" in p.stderr
    assert len(p.stderr.splitlines()) == 1, p.stderr


def test_exec_process_file_ids_out_of_range_are_refused(rt, running, tmp_path):
    f = tmp_path / "process.json"
    f.write_text(json.dumps({"args": ["id"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0}}))
    p = rt("exec", "--process", f, running, check=False)
    assert p.returncode != 0 and "uid=0" not in p.stdout
    assert "process.user.uid: uids and gids must be in range 0-2147483647" in p.stderr


def test_exec_inherits_the_containers_oom_score_adj(rt, bundle):
    """As runc: CRI sets 1000 on the container and expects it of every exec (probes included)."""
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "1000"], edit=lambda c: c["process"].__setitem__("oomScoreAdj", 1000)),
       cid)
    try:
        assert rt("exec", cid, "cat", "/proc/self/oom_score_adj").stdout.strip() == "1000"
        assert rt("exec", "-u", "65534", cid, "cat", "/proc/self/oom_score_adj").stdout.strip() == "1000"
    finally:
        rt("delete", "-f", cid, check=False)
