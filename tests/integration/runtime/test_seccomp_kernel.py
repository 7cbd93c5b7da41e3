"""seccomp.load on the real kernel: each test loads a filter in a forked child and watches it bite."""

import errno
import json
import os
import signal
import socket

import pytest
from pyrunc import seccomp, spec
from pyrunc.errors import PyruncError
from pyruncd.containers.seccomp import default_seccomp
from pyruncd.containers.spec import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS

from tests.harness import forked

BUSYBOX = "/bin/busybox"


def section(**kw):
    sc = spec.from_dict(spec.Seccomp, {"defaultAction": "SCMP_ACT_ALLOW"} | kw, "linux.seccomp")
    seccomp.validate(sc)
    return sc


def rule(names, action="SCMP_ACT_ERRNO", **kw):
    return {"names": names, "action": action} | kw


def in_child(sc, body, no_new_privs=True):
    """The child loads the filter (built here, before the fork) and runs body()."""
    prog = seccomp.build(sc)

    def setup():
        if no_new_privs:
            import prctl

            prctl.set_no_new_privs(1)
        seccomp.load(prog)
    return forked.in_child(setup, body)


def exec_in_child(sc, argv):
    """Fork; the child loads the filter and execs argv. Returns (exit code or -signal, stdout+stderr)."""
    prog = seccomp.build(sc)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.dup2(w, 1)
            os.dup2(w, 2)
            import prctl

            prctl.set_no_new_privs(1)
            seccomp.load(prog)
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return (os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)), out


def test_errno_rule_returns_its_errno(tmp_path):
    sc = section(syscalls=[rule(["mkdir", "mkdirat"], errnoRet=errno.EACCES)])
    res, _ = in_child(sc, lambda: os.mkdir(tmp_path / "d"))
    assert res == {"errno": errno.EACCES}
    assert not (tmp_path / "d").exists()
    os.mkdir(tmp_path / "d")  # the test process itself is untouched


def test_errno_defaults_to_eperm(tmp_path):
    res, _ = in_child(section(syscalls=[rule(["mkdir", "mkdirat"])]), lambda: os.mkdir(tmp_path / "d"))
    assert res == {"errno": errno.EPERM}


def test_unknown_syscall_names_are_skipped(tmp_path):
    sc = section(syscalls=[rule(["no_such_syscall_abc", "mkdir", "mkdirat"], errnoRet=errno.EROFS)])
    res, _ = in_child(sc, lambda: os.mkdir(tmp_path / "d"))
    assert res == {"errno": errno.EROFS}


def test_default_action_with_default_errno(tmp_path):
    # default deny with ENOSYS; busybox needs only what is listed to make a directory
    allowed = ["execve", "brk", "arch_prctl", "set_tid_address", "getuid", "geteuid", "getpid", "getppid",
               "rt_sigaction", "rt_sigprocmask", "exit_group", "write", "umask", "mkdir", "mkdirat", "open",
               "openat", "read", "close", "fstat", "newfstatat", "stat", "lstat", "getcwd", "prlimit64",
               "set_robust_list", "rseq", "mmap", "munmap", "mprotect", "uname", "ioctl", "fcntl", "statx"]
    sc = section(defaultAction="SCMP_ACT_ERRNO", defaultErrnoRet=errno.ENOSYS,
                 syscalls=[rule(allowed, "SCMP_ACT_ALLOW")])
    code, _ = exec_in_child(sc, [BUSYBOX, "mkdir", str(tmp_path / "made")])
    assert code == 0 and (tmp_path / "made").is_dir()
    code, out = exec_in_child(sc, [BUSYBOX, "rmdir", str(tmp_path / "made")])  # rmdir is not listed
    assert code != 0 and "not implemented" in out.lower()
    assert (tmp_path / "made").is_dir()


def test_arg_condition_eq():
    sc = section(syscalls=[rule(["socket"], errnoRet=errno.EAFNOSUPPORT,
                                args=[{"index": 0, "value": socket.AF_INET, "op": "SCMP_CMP_EQ"}])])

    def body():
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()  # allowed
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    assert in_child(sc, body)[0] == {"errno": errno.EAFNOSUPPORT}


def test_arg_condition_masked_eq(tmp_path):
    # deny openat only when O_CREAT is among the flags: value is the mask, valueTwo what it must equal
    existing = tmp_path / "existing"
    existing.write_text("x")
    # open(2) has the flags in arg 1, openat(2) in arg 2
    sc = section(syscalls=[
        rule(["open"], errnoRet=errno.EDQUOT,
             args=[{"index": 1, "value": os.O_CREAT, "valueTwo": os.O_CREAT, "op": "SCMP_CMP_MASKED_EQ"}]),
        rule(["openat"], errnoRet=errno.EDQUOT,
             args=[{"index": 2, "value": os.O_CREAT, "valueTwo": os.O_CREAT, "op": "SCMP_CMP_MASKED_EQ"}]),
    ])

    def body():
        with open(existing) as f:
            assert f.read() == "x"
        open(tmp_path / "new", "w")

    assert in_child(sc, body)[0] == {"errno": errno.EDQUOT}
    assert not (tmp_path / "new").exists()


def test_same_index_twice_means_either():
    sc = section(syscalls=[rule(["kill"], errnoRet=errno.EPERM, args=[
        {"index": 1, "value": signal.SIGUSR1, "op": "SCMP_CMP_EQ"},
        {"index": 1, "value": signal.SIGUSR2, "op": "SCMP_CMP_EQ"}])])

    def body():
        results = []
        for sig in (0, signal.SIGUSR1, signal.SIGUSR2):
            try:
                os.kill(os.getpid(), sig)
                results.append("ok")
            except OSError as e:
                results.append(e.errno)
        return results

    assert in_child(sc, body)[0] == {"ok": ["ok", errno.EPERM, errno.EPERM]}


def test_two_args_on_different_indexes_must_both_match():
    sc = section(syscalls=[rule(["kill"], errnoRet=errno.EPERM, args=[
        {"index": 0, "value": 1, "op": "SCMP_CMP_GE"},
        {"index": 1, "value": signal.SIGUSR1, "op": "SCMP_CMP_EQ"}])])

    def body():
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        os.kill(os.getpid(), signal.SIGUSR2)  # pid matches, signal does not: allowed
        os.kill(os.getpid(), signal.SIGUSR1)

    assert in_child(sc, body)[0] == {"errno": errno.EPERM}


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"])
def test_killing_actions(tmp_path, action):
    res, status = in_child(section(syscalls=[rule(["mkdir", "mkdirat"], action)]), lambda: os.mkdir(tmp_path / "d"))
    assert res is None and os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS


def test_log_flag_loads(tmp_path):
    sc = section(flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
                 syscalls=[rule(["mkdir", "mkdirat"], "SCMP_ACT_LOG")])
    assert in_child(sc, lambda: os.mkdir(tmp_path / "d"))[0] == {"ok": None}
    assert (tmp_path / "d").is_dir()


def test_without_no_new_privs_loading_needs_cap_sys_admin(tmp_path):
    import prctl

    sc = section(syscalls=[rule(["mkdir", "mkdirat"])])
    res, _ = in_child(sc, lambda: os.mkdir(tmp_path / "d"), no_new_privs=False)
    assert res == {"errno": errno.EPERM}  # as root with CAP_SYS_ADMIN it loads

    def drop_then_load():
        prctl.cap_effective.sys_admin = False
        try:
            seccomp.load(seccomp.build(sc))
        except PyruncError as e:
            return str(e)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, json.dumps(drop_then_load()).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        msg = json.load(f)
    os.waitpid(pid, 0)
    assert msg == "error loading seccomp filter into kernel: Permission denied"


def test_docker_default_profile_runs_busybox():
    code, out = exec_in_child(section(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS))), [BUSYBOX, "sh", "-c", "echo ok"])
    assert (code, out) == (0, "ok\n")


def test_docker_default_profile_denies_what_it_should():
    sc = section(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS)))
    code, out = exec_in_child(sc, [BUSYBOX, "unshare", "-n", BUSYBOX, "true"])
    assert code != 0 and "operation not permitted" in out.lower()
    # socket(AF_VSOCK=40) is the one address family the profile refuses
    res, _ = in_child(sc, lambda: socket.socket(40, socket.SOCK_STREAM))
    assert res == {"errno": errno.EPERM}


def _raw_syscall(nr):
    """syscall(nr, 0, 0, 0) through libc; the errno it fails with, or 0."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return ctypes.get_errno() if libc.syscall(ctypes.c_long(nr), 0, 0, 0) < 0 else 0


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers below are x86_64's")
def test_syscalls_newer_than_the_profile_get_enosys():
    sc = section(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS)))
    # 452 is fchmodat2 (Linux 6.6), newer than any call the profile names: libc falls back on ENOSYS
    # 321 is bpf, which the profile knows and refuses without CAP_SYS_ADMIN: the default errno
    res, _ = in_child(sc, lambda: [_raw_syscall(452), _raw_syscall(321)])
    assert res == {"ok": [errno.ENOSYS, errno.EPERM]}


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers below are x86_64's")
def test_no_enosys_stub_for_an_allow_by_default_profile():
    sc = section(architectures=["SCMP_ARCH_X86_64"], syscalls=[rule(["mkdir", "mkdirat"])])
    res, _ = in_child(sc, lambda: _raw_syscall(452))  # fchmodat2(0, NULL, 0): the kernel's own answer
    assert res["ok"] != errno.ENOSYS
