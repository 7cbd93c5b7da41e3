"""linux.seccomp through the runtime's command line: rules enforced in the container, Docker's
default profile runs busybox, and a bad section fails create with nothing left behind."""

import pytest

# Docker's profile and its conversion live in the daemon, which puts them in every bundle
from pyruncd.containers.seccomp import default_seccomp
from pyruncd.containers.spec import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS

from tests.harness.runtime import IS_RUNC

MKDIR = ["sh", "-c", "mkdir /dev/shm/d && echo made"]


def with_seccomp(section, no_new_privs=True, caps=None):
    def edit(cfg):
        cfg["linux"]["seccomp"] = section
        cfg["process"]["noNewPrivileges"] = no_new_privs
        if caps is not None:
            cfg["process"]["capabilities"] = {k: list(caps) for k in ("bounding", "effective", "permitted")}
    return edit


def deny_mkdir(action="SCMP_ACT_ERRNO", **kw):
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action} | kw]}


def test_rule_returns_its_errno(rt, bundle):
    p = rt("run", "--bundle", bundle(MKDIR, edit=with_seccomp(deny_mkdir(errnoRet=122))), rt.new_id(), check=False)
    assert p.returncode != 0 and "Disk quota exceeded" in p.stderr  # EDQUOT = 122


def test_errno_defaults_to_eperm(rt, bundle):
    p = rt("run", "--bundle", bundle(MKDIR, edit=with_seccomp(deny_mkdir())), rt.new_id(), check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr


def test_loaded_without_no_new_privs(rt, bundle):
    # then the runtime must load it while it still has CAP_SYS_ADMIN, before dropping capabilities
    b = bundle(MKDIR, edit=with_seccomp(deny_mkdir(errnoRet=122), no_new_privs=False, caps=DOCKER_DEFAULT_CAPS))
    p = rt("run", "--bundle", b, rt.new_id(), check=False)
    assert p.returncode != 0 and "Disk quota exceeded" in p.stderr


def test_kill_action_kills_the_process(rt, bundle):
    b = bundle(["mkdir", "/dev/shm/d"], edit=with_seccomp(deny_mkdir("SCMP_ACT_KILL")))
    p = rt("run", "--bundle", b, rt.new_id(), check=False)
    assert p.returncode == 128 + 31  # SIGSYS


def test_unknown_syscall_names_are_skipped(rt, bundle):
    section = deny_mkdir(errnoRet=122)
    section["syscalls"][0]["names"].insert(0, "no_such_syscall_pyrunc")
    p = rt("run", "--bundle", bundle(MKDIR, edit=with_seccomp(section)), rt.new_id(), check=False)
    assert p.returncode != 0 and "Disk quota exceeded" in p.stderr


def test_arg_conditions(rt, bundle):
    # kill(2) refused for SIGUSR1 (10) and SIGUSR2 (12) only: one index twice means either
    section = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 122,
         "args": [{"index": 1, "value": 10, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 12, "op": "SCMP_CMP_EQ"}]}]}
    script = "kill -0 $$ && echo zero; kill -USR1 $$ || echo usr1; kill -USR2 $$ || echo usr2"
    p = rt("run", "--bundle", bundle(["sh", "-c", script], edit=with_seccomp(section)), rt.new_id())
    assert p.stdout == "zero\nusr1\nusr2\n" and "Disk quota exceeded" in p.stderr


def test_default_action_with_default_errno(rt, bundle):
    profile = default_seccomp(tuple(DOCKER_DEFAULT_CAPS))
    profile["defaultErrnoRet"] = 122
    for s in profile["syscalls"]:
        s["names"] = [n for n in s["names"] if n not in ("mkdir", "mkdirat")]
    p = rt("run", "--bundle", bundle(MKDIR, edit=with_seccomp(profile, caps=DOCKER_DEFAULT_CAPS)), rt.new_id(),
           check=False)
    assert p.returncode != 0 and "Disk quota exceeded" in p.stderr


def test_docker_default_profile_runs_busybox(rt, bundle):
    b = bundle(["sh", "-c", "echo ok"], edit=with_seccomp(default_seccomp(tuple(DOCKER_DEFAULT_CAPS)), caps=DOCKER_DEFAULT_CAPS))
    assert rt("run", "--bundle", b, rt.new_id()).stdout == "ok\n"


def test_docker_default_profile_denies_unshare(rt, bundle):
    b = bundle(["busybox", "unshare", "-n", "true"], edit=with_seccomp(default_seccomp(tuple(DOCKER_DEFAULT_CAPS)), caps=DOCKER_DEFAULT_CAPS))
    p = rt("run", "--bundle", b, rt.new_id(), check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr


@pytest.mark.parametrize("change, words", [
    (lambda s: s.update(defaultAction="SCMP_ACT_NOPE"), ["SCMP_ACT_NOPE"]),
    (lambda s: s["syscalls"][0].update(action="SCMP_ACT_BOOM"), ["SCMP_ACT_BOOM"]),
    (lambda s: s.update(architectures=["SCMP_ARCH_Z80"]), ["SCMP_ARCH_Z80"]),
    (lambda s: s["syscalls"][0].update(args=[{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}]),
     ["SCMP_CMP_SOMETIMES"]),
])
def test_bad_section_fails_create_leaving_nothing(rt, bundle, change, words):
    section = deny_mkdir()
    change(section)
    cid = rt.new_id()
    p = rt("create", "--bundle", bundle(["true"], edit=with_seccomp(section)), cid, check=False)
    assert p.returncode != 0
    assert all(w in p.stderr for w in words), p.stderr
    assert rt("state", cid, check=False).returncode != 0


def test_listener_path_is_refused(rt, bundle, tmp_path):
    section = deny_mkdir("SCMP_ACT_NOTIFY")
    section["listenerPath"] = str(tmp_path / "agent.sock")  # nothing listens there
    cid = rt.new_id()
    p = rt("create", "--bundle", bundle(["true"], edit=with_seccomp(section)), cid, check=False)
    assert p.returncode != 0
    if not IS_RUNC:  # runc implements notify, and fails here only because no agent listens
        assert "linux.seccomp.listenerPath: seccomp notify is not supported by pyrunc" in p.stderr
    assert rt("state", cid, check=False).returncode != 0


def test_exec_gets_the_containers_filter(rt, bundle):
    cid = rt.new_id()
    rt("run", "--detach", "--bundle", bundle(["sleep", "60"], edit=with_seccomp(deny_mkdir(errnoRet=122))), cid)
    try:
        p = rt("exec", cid, *MKDIR, check=False)
        assert p.returncode != 0 and "Disk quota exceeded" in p.stderr
    finally:
        rt("delete", "--force", cid)
