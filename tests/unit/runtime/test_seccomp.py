"""seccomp: validation messages and filter construction (libseccomp compiles, nothing is loaded)."""

import os
import struct

import pytest
from pyrunc import libseccomp as L
from pyrunc import seccomp, spec
from pyrunc.errors import ConfigError
from pyruncd.containers.seccomp import default_seccomp
from pyruncd.containers.spec import DEFAULT_CAPS as DOCKER_DEFAULT_CAPS


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    cache = tmp_path / "seccomp-cache"
    monkeypatch.setattr(seccomp, "CACHE_DIR", str(cache))
    return cache


def sc(**kw):
    obj = {"defaultAction": "SCMP_ACT_ALLOW"} | kw
    return spec.from_dict(spec.Seccomp, obj, "linux.seccomp")


def rule(names, action="SCMP_ACT_ERRNO", **kw):
    return {"names": names, "action": action} | kw


# --- validate ------------------------------------------------------------------

@pytest.mark.parametrize("obj, message", [
    ({"defaultAction": "SCMP_ACT_NOPE"}, 'linux.seccomp.defaultAction: unknown action "SCMP_ACT_NOPE"'),
    ({"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]},
     'linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_Z80"'),
    ({"flags": ["SECCOMP_FILTER_FLAG_BOGUS"]},
     'linux.seccomp.flags[0]: seccomp flag "SECCOMP_FILTER_FLAG_BOGUS" is not supported by pyrunc'),
    ({"syscalls": [rule(["read"]), rule(["write"], "SCMP_ACT_BOOM")]},
     'linux.seccomp.syscalls[1].action: unknown action "SCMP_ACT_BOOM"'),
    ({"syscalls": [rule(["read"], args=[{"index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES"}])]},
     'linux.seccomp.syscalls[0].args[0].op: unknown operator "SCMP_CMP_SOMETIMES"'),
    ({"syscalls": [rule(["read"], args=[{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}])]},
     "linux.seccomp.syscalls[0].args[0].index: must be 0 to 5, got 6"),
    ({"syscalls": [rule(["read"], args=[{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}])]},
     "linux.seccomp.syscalls[0].args[0].value: expected an integer in range 0 to 18446744073709551615, got -1"),
    ({"syscalls": [rule([])]}, "linux.seccomp.syscalls[0].names: must name at least one syscall"),
    ({"syscalls": [rule(["read", ""])]}, "linux.seccomp.syscalls[0].names[1]: empty syscall name"),
    ({"syscalls": [rule(["read"], "SCMP_ACT_KILL", errnoRet=1)]},
     "linux.seccomp.syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_KILL"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000},
     "linux.seccomp.defaultErrnoRet: must be 0 to 65535, got 70000"),
    ({"listenerPath": "/run/agent.sock"}, "linux.seccomp.listenerPath: seccomp notify is not supported by pyrunc"),
    ({"syscalls": [rule(["read"], "SCMP_ACT_NOTIFY")]},
     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY (seccomp notify) is not supported by pyrunc"),
])
def test_validate_names_the_field(obj, message):
    with pytest.raises(ConfigError) as e:
        seccomp.validate(sc(**obj))
    assert str(e.value) == message


def test_every_known_name_passes_the_name_checks():
    seccomp.check_names(sc(
        defaultAction="SCMP_ACT_ERRNO", defaultErrnoRet=38, architectures=list(seccomp.ARCHS),
        flags=list(seccomp.FLAGS),
        syscalls=[rule(["read"], a, args=[{"index": i % 6, "value": 1, "valueTwo": 2, "op": op}])
                  for i, (a, op) in enumerate(zip(seccomp.ACTIONS, list(seccomp.OPERATORS) * 2, strict=False))]))


def test_docker_default_profile_validates():
    seccomp.validate(sc(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS))))


# --- plan: the rules as runc would add them ---------------------------------------

def test_actions_map_as_runc():
    assert seccomp.action_value("SCMP_ACT_KILL") == L.ACT_KILL_THREAD
    assert seccomp.action_value("SCMP_ACT_KILL_PROCESS") == L.ACT_KILL_PROCESS
    assert seccomp.action_value("SCMP_ACT_ERRNO") == L.act_errno(1)  # EPERM by default
    assert seccomp.action_value("SCMP_ACT_ERRNO", 38) == L.act_errno(38)
    assert seccomp.action_value("SCMP_ACT_TRACE") == L.act_trace(1)
    assert seccomp.action_value("SCMP_ACT_LOG") == L.ACT_LOG


def test_plan_default_errno_and_rules():
    p = seccomp.plan(sc(defaultAction="SCMP_ACT_ERRNO", defaultErrnoRet=38,
                        syscalls=[rule(["read", "write"], "SCMP_ACT_ALLOW"), rule(["mkdir"], errnoRet=13)]))
    assert p.default_action == L.act_errno(38)
    assert [(r.syscall, r.action, r.conds) for r in p.rules] == [
        ("read", L.ACT_ALLOW, []), ("write", L.ACT_ALLOW, []), ("mkdir", L.act_errno(13), [])]


def test_plan_skips_rules_equal_to_the_default():
    p = seccomp.plan(sc(defaultAction="SCMP_ACT_ERRNO",
                        syscalls=[rule(["read"]), rule(["write"], errnoRet=1), rule(["open"], errnoRet=2)]))
    assert [r.syscall for r in p.rules] == ["open"]


def test_plan_args_and_or_like_runc():
    args_distinct = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                     {"index": 1, "value": 0xF0, "valueTwo": 0x10, "op": "SCMP_CMP_MASKED_EQ"}]
    args_same = [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 5, "op": "SCMP_CMP_GT"}]
    p = seccomp.plan(sc(syscalls=[rule(["ioctl"], args=args_distinct), rule(["fcntl"], args=args_same)]))
    assert [(r.syscall, r.conds) for r in p.rules] == [
        ("ioctl", [(0, 4, 1, 0), (1, 7, 0xF0, 0x10)]),   # distinct indexes: one rule, ANDed
        ("fcntl", [(0, 4, 1, 0)]), ("fcntl", [(0, 6, 5, 0)]),  # same index twice: one rule each, ORed
    ]


def test_plan_archs_flags_and_optimisation():
    p = seccomp.plan(sc(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X86"],
                        flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]))
    assert p.archs == ["x86_64", "x86"]
    assert p.flags == 2 | 4
    assert not p.optimize
    many = seccomp.plan(sc(syscalls=[rule([f"read{i}"]) for i in range(33)]))
    assert many.optimize


# --- build: libseccomp compiles the plan to BPF ---------------------------------------

def _instructions(bpf):
    return [struct.unpack("=HBBI", bpf[i:i + 8]) for i in range(0, len(bpf), 8)]


def _returns(bpf):
    ret = 0x06  # BPF_RET | BPF_K
    return {k for code, _jt, _jf, k in _instructions(bpf) if code == ret}


def test_build_skips_unknown_syscalls():
    prog = seccomp.build(sc(syscalls=[rule(["mkdir", "no_such_syscall_xyz"], errnoRet=13)]))
    assert prog.skipped == ["no_such_syscall_xyz"]
    assert L.act_errno(13) in _returns(prog.bpf)
    assert L.ACT_ALLOW in _returns(prog.bpf)


def test_build_encodes_default_errno_and_rule_errno():
    prog = seccomp.build(sc(defaultAction="SCMP_ACT_ERRNO", defaultErrnoRet=38,
                            syscalls=[rule(["read", "write", "exit_group"], "SCMP_ACT_ALLOW"),
                                      rule(["mkdir"], errnoRet=13)]))
    assert {L.act_errno(38), L.act_errno(13), L.ACT_ALLOW} <= _returns(prog.bpf)


def test_validate_reports_what_libseccomp_refuses():
    # one filter cannot hold arches of both byte orders
    with pytest.raises(seccomp.PyruncError, match="error adding architecture ppc64 to seccomp filter"):
        seccomp.validate(sc(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_PPC64"]))


def test_build_adds_architectures():
    one = seccomp.build(sc(syscalls=[rule(["mkdir"])]))
    three = seccomp.build(sc(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                             syscalls=[rule(["mkdir"])]))
    assert len(three.bpf) > len(one.bpf)
    assert three.flags == 0


def test_build_docker_default_profile():
    prog = seccomp.build(sc(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS))))
    assert prog.skipped == []
    assert len(prog.bpf) // 8 > 100
    assert {L.act_errno(1), L.act_errno(38), L.ACT_ALLOW} <= _returns(prog.bpf)


def test_import_loads_libseccomp_so_init_can_build_after_pivot_root():
    import subprocess
    import sys

    code = "import pyrunc.seccomp, pyrunc.libseccomp as L; print(L._lib is not None)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"


def test_validate_compiles_once_for_load(monkeypatch):
    section = sc(syscalls=[rule(["mkdir"])])
    seccomp.validate(section)
    calls = []
    monkeypatch.setattr(seccomp, "build", lambda s: calls.append(s) or seccomp.Program(b"", 0, []))
    monkeypatch.setattr(seccomp, "_SYS_SECCOMP", -1)  # make the final syscall fail harmlessly: ENOSYS
    with pytest.raises(seccomp.PyruncError, match="Function not implemented"):
        seccomp.load(section)
    assert calls == []  # validate's program was reused
    with pytest.raises(seccomp.PyruncError):
        seccomp.load(sc(syscalls=[rule(["mkdir"])]))  # an equal but other section is built anew
    assert len(calls) == 1


def test_compiled_programs_are_cached(private_cache, monkeypatch):
    section = sc(**default_seccomp(tuple(DOCKER_DEFAULT_CAPS)))
    first = seccomp.cached_build(section)
    assert private_cache.stat().st_mode & 0o777 == 0o700
    (entry,) = private_cache.iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600
    monkeypatch.setattr(seccomp, "_compile", lambda p: pytest.fail("compiled again"))
    again = seccomp.cached_build(section)
    assert (again.bpf, again.skipped) == (first.bpf, first.skipped)
    seccomp.validate(section)  # validate goes through the cache too


def test_cache_keeps_skipped_names_and_flags(monkeypatch):
    section = sc(flags=["SECCOMP_FILTER_FLAG_LOG"], syscalls=[rule(["mkdir", "no_such_call_q", "nor_this_one"])])
    first = seccomp.cached_build(section)
    monkeypatch.setattr(seccomp, "_compile", lambda p: pytest.fail("compiled again"))
    again = seccomp.cached_build(sc(syscalls=[rule(["mkdir", "no_such_call_q", "nor_this_one"])]))
    assert again.skipped == first.skipped == ["no_such_call_q", "nor_this_one"]
    assert (first.flags, again.flags) == (2, 0)  # flags are not part of the program


def test_different_sections_do_not_share_an_entry(private_cache):
    a = seccomp.cached_build(sc(syscalls=[rule(["mkdir"], errnoRet=13)]))
    b = seccomp.cached_build(sc(syscalls=[rule(["mkdir"], errnoRet=14)]))
    assert a.bpf != b.bpf and len(list(private_cache.iterdir())) == 2


def test_cache_others_can_write_is_not_trusted(private_cache, monkeypatch):
    section = sc(syscalls=[rule(["mkdir"])])
    good = seccomp.cached_build(section)
    (entry,) = private_cache.iterdir()
    entry.write_bytes(b"\n" + b"\x06\x00\x00\x00\x00\x00\xff\x7f")  # a forged "allow everything"
    private_cache.chmod(0o777)
    assert seccomp.cached_build(section).bpf == good.bpf
    private_cache.chmod(0o700)
    entry.chmod(0o666)
    assert seccomp.cached_build(section).bpf == good.bpf


def test_corrupt_cache_entry_is_rebuilt(private_cache):
    section = sc(syscalls=[rule(["mkdir"])])
    good = seccomp.cached_build(section)
    (entry,) = private_cache.iterdir()
    entry.write_bytes(b"\nabc")
    assert seccomp.cached_build(section).bpf == good.bpf


# --- the -ENOSYS stub ------------------------------------------------------------------

def _stub(section):
    return _instructions(seccomp.enosys_stub(seccomp.plan(section)))


def test_no_stub_when_the_default_lets_calls_through():
    for action in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"):
        assert _stub(sc(defaultAction=action, architectures=["SCMP_ARCH_X86_64"],
                        syscalls=[rule(["read"], "SCMP_ACT_ERRNO")])) == []
    # and, as runc, none without listed architectures
    assert _stub(sc(defaultAction="SCMP_ACT_ERRNO", syscalls=[rule(["read"], "SCMP_ACT_ALLOW")])) == []


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers below are x86_64's")
def test_stub_answers_enosys_above_the_largest_known_syscall():
    section = sc(defaultAction="SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64"],
                 syscalls=[rule(["read", "write", "exit_group"], "SCMP_ACT_ALLOW")])
    code = _stub(section)
    ld, jeq, jgt, ret = 0x20, 0x15, 0x25, 0x06
    assert code[0] == (ld, 0, 0, 4)  # the arch
    assert code[1][0] == jeq and code[1][3] == 0xC000003E
    assert code[2] == (ld, 0, 0, 0)  # the syscall number
    jset = code[3]
    assert jset[0] == 0x45 and jset[3] == 0x40000000  # x32 calls (bit 30) go straight to the filter
    op, jt, jf, k = code[4]
    assert (op, k) == (jgt, 231)  # exit_group, the largest of the three
    assert code[4 + 1 + jt] == (ret, 0, 0, L.act_errno(38))
    assert 4 + 1 + jf == len(code)  # else: into libseccomp's filter
    assert 3 + 1 + jset[1] == len(code)


def test_plain_build_never_touches_the_cache(private_cache):
    seccomp.build(sc(syscalls=[rule(["mkdir"])]))
    assert not private_cache.exists()


def test_stub_is_prepended_to_the_program():
    section = sc(defaultAction="SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                 syscalls=[rule(["read", "write"], "SCMP_ACT_ALLOW")])
    stub = seccomp.enosys_stub(seccomp.plan(section))
    prog = seccomp.build(section)
    assert stub and prog.bpf.startswith(stub)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers below are x86_64's")
def test_stub_counts_syscalls_whose_rule_equals_the_default():
    # fchmodat2 (452) is named, with the default action: the profile knows it, so it keeps EPERM
    section = sc(defaultAction="SCMP_ACT_ERRNO", architectures=["SCMP_ARCH_X86_64"],
                 syscalls=[rule(["read"], "SCMP_ACT_ALLOW"), rule(["fchmodat2"])])
    assert [r.syscall for r in seccomp.plan(section).rules] == ["read"]
    assert _stub(section)[4][3] == 452
