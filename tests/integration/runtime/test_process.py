"""process.*: args, env, cwd, user, umask, rlimits, oomScoreAdj, noNewPrivileges, fds."""

import os
import subprocess

from tests.harness.runtime import IS_RUNC


def run_out(rt, bundle, script, edit=None, **kw):
    return rt("run", "--bundle", bundle(["sh", "-c", script], edit=edit), rt.new_id(), **kw).stdout


def test_env_cwd_and_home(rt, bundle):
    def edit(c):
        c["process"]["env"].append("GREETING=hi there")
        c["process"]["cwd"] = "/etc"
    assert run_out(rt, bundle, 'echo "$GREETING"; pwd; echo $HOME', edit=edit).splitlines() == [
        "hi there", "/etc", "/root"]


def test_user_groups_and_umask(rt, bundle):
    def edit(c):
        c["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [10, 20], "umask": 0o027}
    out = run_out(rt, bundle, "id -u; id -g; id -G; umask; echo $HOME", edit=edit).split()
    assert out[:2] == ["65534", "65534"]
    assert {"10", "20"} <= set(out[2:-2])
    assert out[-2:] == ["0027", "/nonexistent"]  # HOME from the container's /etc/passwd


def test_rlimits(rt, bundle):
    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000},
                                   {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    assert run_out(rt, bundle, "ulimit -n; ulimit -Hn; ulimit -c", edit=edit).split() == ["512", "1000", "0"]


def test_unknown_rlimit_is_refused(rt, bundle):
    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    p = rt("create", "--bundle", bundle(edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0 and "RLIMIT_BOGUS" in p.stderr
    assert rt.ids() == []


def test_oom_score_adj(rt, bundle):
    def edit(c):
        c["process"]["oomScoreAdj"] = 500
    assert run_out(rt, bundle, "cat /proc/self/oom_score_adj", edit=edit).strip() == "500"


def test_no_new_privileges(rt, bundle):
    def on(c):
        c["process"]["noNewPrivileges"] = True

    def off(c):
        c["process"]["noNewPrivileges"] = False
    grep = "grep NoNewPrivs /proc/self/status"
    assert run_out(rt, bundle, grep, edit=on).split() == ["NoNewPrivs:", "1"]
    assert run_out(rt, bundle, grep, edit=off).split() == ["NoNewPrivs:", "0"]


def test_args_with_absolute_path_and_missing_cwd_created(rt, bundle):
    def edit(c):
        c["process"]["cwd"] = "/tmp/made/by/runtime"
    # /tmp is a fresh tmpfs so creating the cwd does not touch the shared rootfs
    edit_all = lambda c: (edit(c), c["mounts"].append(  # noqa: E731
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}))
    p = rt("run", "--bundle", bundle(["/bin/busybox", "pwd"], edit=edit_all), rt.new_id())
    assert p.stdout.strip() == "/tmp/made/by/runtime"


def test_preserve_fds(rt, bundle, tmp_path):
    extra = tmp_path / "extra"
    extra.write_text("through fd 3\n")
    fd = os.open(extra, os.O_RDONLY)
    argv = rt.cmd("run", "--preserve-fds", "1", "--bundle", bundle(["sh", "-c", "cat <&3; ls /proc/self/fd"]),
                  rt.new_id())
    try:
        # the runtime must find it as fd 3; dup2 in the child leaves the test process's fds alone
        p = subprocess.run(argv, capture_output=True, text=True, pass_fds=(fd, 3), timeout=30,
                           preexec_fn=lambda: os.dup2(fd, 3))
    finally:
        os.close(fd)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "through fd 3"
    assert "3" in lines[1:]


def test_fds_are_not_leaked_without_preserve(rt, bundle, tmp_path):
    extra = tmp_path / "extra"
    extra.write_text("x")
    fd = os.open(extra, os.O_RDONLY)
    try:
        os.set_inheritable(fd, True)
        argv = rt.cmd("run", "--bundle", bundle(["ls", "/proc/self/fd"]), rt.new_id())
        p = subprocess.run(argv, capture_output=True, text=True, pass_fds=(fd,), timeout=30)
    finally:
        os.close(fd)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == ["0", "1", "2", "3"]  # 3 is ls's own directory fd


def test_executable_errors_name_the_program(rt, bundle):
    p = rt("run", "--bundle", bundle(["/no/such/file"]), rt.new_id(), check=False)
    assert p.returncode != 0 and "/no/such/file" in p.stderr
    assert rt.ids() == []


def test_rlimit_error_names_the_limit(rt, bundle):
    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 30000, "hard": 30000}]
    p = rt("run", "--bundle", bundle(edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0
    if not IS_RUNC:  # runc says "error setting rlimit type 7: operation not permitted"
        assert "RLIMIT_NOFILE" in p.stderr and "20000" in p.stderr
    assert rt.ids() == []


def test_non_executable_program_is_refused_at_create(rt, bundle):
    p = rt("create", "--bundle", bundle(["/etc/passwd"]), rt.new_id(), check=False)
    assert p.returncode != 0 and 'exec: "/etc/passwd": permission denied' in p.stderr.replace('\\"', '"')
    assert rt.ids() == []


def test_exec_of_non_executable_program(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"]), cid)
    p = rt("exec", cid, "/etc", check=False)
    assert p.returncode == 255 and 'exec: "/etc": permission denied' in p.stderr.replace('\\"', '"')
    rt("delete", "-f", cid)
