"""linux.seccomp: validate the section, turn it into a libseccomp filter, load it.

Semantics follow runc: SCMP_ACT_KILL means kill the thread; ERRNO and TRACE
default to EPERM; a syscall name this libseccomp cannot resolve is skipped;
a rule whose action equals the default action is skipped; when one rule names
the same argument index twice its conditions become separate rules (OR), else
they form one rule (AND); more than 32 syscall entries turn on libseccomp's
binary-tree optimisation. Seccomp notify (listenerPath, SCMP_ACT_NOTIFY) is
not supported.

build() has libseccomp compile the filter to BPF; load() hands that program
to seccomp(2) itself. Importing this module loads libseccomp.so.2 (~1 ms),
because the container's init cannot reach the host's files after pivot_root:
import it before forking init, and call validate() there too: a bad profile
then fails before the container exists, the compiled program is cached, and
the forked init only loads it.
"""

import ctypes
import os
import struct

from . import libseccomp as L
from .errors import ConfigError, PyruncError

ACTIONS = (
    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP",
)
NOTIFY = "SCMP_ACT_NOTIFY"
_ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
EPERM = 1

# name -> enum scmp_compare
OPERATORS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}

# spec name -> libseccomp's arch name (libseccomp 2.5 knows all of these)
ARCHS = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
    "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
    "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
    "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
    "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64", "SCMP_ARCH_RISCV64": "riscv64",
}

# flag -> its bit for seccomp(2), which load() calls itself
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
}
_SECCOMP_SET_MODE_FILTER = 1

_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}[os.uname().machine]
_MAX_ARGS = 6
_OPTIMIZE_ABOVE = 32  # runc's threshold for the binary-tree optimisation


def validate(sc):
    """Raise ConfigError naming the field for anything load() could not honour.

    Then libseccomp compiles the filter, so its errors too come at create
    time, and load() of this same section reuses the program (in a forked init).
    """
    check_names(sc)
    _built[id(sc)] = (sc, cached_build(sc))


# id(section) -> (section, Program): what validate() compiled, for load() in the forked init
_built: "dict[int, tuple[object, object]]" = {}


def check_names(sc):
    """The pure part of validate(): ConfigError naming the field, no libseccomp calls."""
    where = "linux.seccomp"
    if sc.listener_path:
        raise ConfigError(f"{where}.listenerPath: seccomp notify is not supported by pyrunc")
    _check_action(sc.default_action, sc.default_errno_ret, f"{where}.defaultAction", f"{where}.defaultErrnoRet")
    for i, arch in enumerate(sc.architectures):
        if arch not in ARCHS:
            raise ConfigError(f'{where}.architectures[{i}]: unknown architecture "{arch}"')
    for i, flag in enumerate(sc.flags):
        if flag not in FLAGS:
            raise ConfigError(f'{where}.flags[{i}]: seccomp flag "{flag}" is not supported by pyrunc')
    for i, call in enumerate(sc.syscalls):
        at = f"{where}.syscalls[{i}]"
        if not call.names:
            raise ConfigError(f"{at}.names: must name at least one syscall")
        for j, name in enumerate(call.names):
            if not name:
                raise ConfigError(f"{at}.names[{j}]: empty syscall name")
        _check_action(call.action, call.errno_ret, f"{at}.action", f"{at}.errnoRet")
        for j, arg in enumerate(call.args):
            if not 0 <= arg.index < _MAX_ARGS:
                raise ConfigError(f"{at}.args[{j}].index: must be 0 to {_MAX_ARGS - 1}, got {arg.index}")
            if arg.op not in OPERATORS:
                raise ConfigError(f'{at}.args[{j}].op: unknown operator "{arg.op}"')
            for key, value in (("value", arg.value), ("valueTwo", arg.value_two)):
                if not 0 <= value < 1 << 64:
                    raise ConfigError(f"{at}.args[{j}].{key}: must fit in 64 unsigned bits, got {value}")


def _check_action(action, errno_ret, at, errno_at):
    if action == NOTIFY:
        raise ConfigError(f"{at}: {NOTIFY} (seccomp notify) is not supported by pyrunc")
    if action not in ACTIONS:
        raise ConfigError(f'{at}: unknown action "{action}"')
    if errno_ret is not None:
        if action not in _ERRNO_ACTIONS:
            raise ConfigError(f"{errno_at}: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not {action}")
        if not 0 <= errno_ret <= 0xFFFF:
            raise ConfigError(f"{errno_at}: must be 0 to 65535, got {errno_ret}")


# --- the filter, as data -------------------------------------------------------

# plain classes, not dataclasses: decorating costs ~1.5 ms each at import, on every container start

class Rule:
    __slots__ = ("syscall", "action", "conds")

    def __init__(self, syscall: str, action: int, conds: list[tuple[int, int, int, int]]):
        self.syscall = syscall
        self.action = action
        self.conds = conds  # (arg index, scmp_compare, datum a, datum b)

    def __repr__(self):
        return f"Rule({self.syscall!r}, {self.action:#x}, {self.conds!r})"


class Plan:
    __slots__ = ("default_action", "archs", "flags", "optimize", "rules", "names")

    def __init__(self, default_action: int, archs: list[str], flags: int, optimize: bool, rules: list[Rule],
                 names: list[str]):
        self.default_action = default_action
        self.archs = archs  # libseccomp arch names
        self.flags = flags  # SECCOMP_FILTER_FLAG_* bits for seccomp(2)
        self.optimize = optimize
        self.rules = rules
        self.names = names  # every syscall the section names, rules skipped or not (for the ENOSYS stub)


class Program:
    """A compiled filter: BPF instructions (struct sock_filter, 8 bytes each) and seccomp(2) flags."""

    __slots__ = ("bpf", "flags", "skipped")

    def __init__(self, bpf: bytes, flags: int, skipped: list[str]):
        self.bpf = bpf
        self.flags = flags
        self.skipped = skipped  # syscall names this libseccomp does not know


def action_value(name, errno_ret=None):
    """The libseccomp action for a spec action name, as runc maps it."""
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return L.ACT_KILL_THREAD
    if name == "SCMP_ACT_ERRNO":
        return L.act_errno(EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return L.act_trace(EPERM if errno_ret is None else errno_ret)
    return {"SCMP_ACT_ALLOW": L.ACT_ALLOW, "SCMP_ACT_KILL_PROCESS": L.ACT_KILL_PROCESS,
            "SCMP_ACT_LOG": L.ACT_LOG, "SCMP_ACT_TRAP": L.ACT_TRAP}[name]


def plan(sc):
    """The filter a validated Seccomp section describes; pure, no libseccomp calls."""
    default = action_value(sc.default_action, sc.default_errno_ret)
    flags = 0
    for f in sc.flags:
        flags |= FLAGS[f]
    rules = []
    names = {}
    for call in sc.syscalls:
        names.update(dict.fromkeys(call.names))
        action = action_value(call.action, call.errno_ret)
        if action == default:
            continue
        conds = [(a.index, OPERATORS[a.op], a.value, a.value_two) for a in call.args]
        indexes = [c[0] for c in conds]
        # one index twice cannot be ANDed in one libseccomp rule: runc ORs them instead
        groups = [[c] for c in conds] if len(set(indexes)) < len(indexes) else [conds]
        for name in call.names:
            rules += [Rule(name, action, list(g)) for g in groups]
    archs = [ARCHS[a] for a in dict.fromkeys(sc.architectures)]
    return Plan(default, archs, flags, len(sc.syscalls) > _OPTIMIZE_ABOVE, rules, list(names))


def cached_build(sc):
    """build(), through the cache in CACHE_DIR: compiling Docker's default profile costs
    libseccomp 10-25 ms, which every container start would pay.

    Only in the host's mount namespace: inside a container CACHE_DIR would be
    the container's, where a forged program could wait.
    """
    p = plan(sc)
    key = _cache_key(p)
    prog = _cache_read(key, p.flags)
    if prog is None:
        prog = _compile(p)
        _cache_write(key, prog)
    return prog


def build(sc):
    """The BPF program for a validated Seccomp section, compiled by libseccomp (no cache)."""
    return _compile(plan(sc))


def _compile(p):
    try:
        filt = L.Filter(p.default_action)
    except OSError as e:
        raise PyruncError(f"unable to init seccomp: libseccomp: {e.strerror}") from None
    skipped = []
    try:
        for arch in p.archs:
            token = L.resolve_arch(arch)
            if token is None:
                raise PyruncError(f"unable to init seccomp: libseccomp {L.version()} does not know arch {arch}")
            try:
                filt.add_arch(token)
            except L.Error as e:  # e.g. EDOM: arches of both endiannesses in one filter
                raise PyruncError(f"error adding architecture {arch} to seccomp filter: {e.strerror}") from None
        if p.optimize:
            try:
                filt.set_attr(L.ATTR_CTL_OPTIMIZE, 2)
            except L.Error:
                pass  # an optimisation only: older libseccomp lacks it
        for rule in p.rules:
            nr = L.resolve_syscall(rule.syscall)
            if nr is None:  # unknown to this libseccomp: runc skips it too
                skipped.append(rule.syscall)
                continue
            try:
                filt.add_rule(rule.action, nr, rule.conds)
            except L.Error as e:
                raise PyruncError(f"error adding seccomp rule for syscall {rule.syscall}: {e.strerror}") from None
        bpf = filt.export_bpf()
    finally:
        filt.release()
    return Program(enosys_stub(p) + bpf, p.flags, skipped)


# --- -ENOSYS for syscalls newer than the profile (runc's patchbpf, in our words) ----------
# A deny-by-default profile would answer a syscall it has never heard of with its default
# errno (EPERM for Docker's), and libc only falls back to an older call on ENOSYS. So a
# stub in front of libseccomp's program answers ENOSYS for any number above the largest the
# profile names on that arch. As in runc: only for the listed architectures, and not when
# the default action lets calls through anyway.

_ALLOW_LIKE = ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")
_X32_BIT = 0x40000000
_AUDIT_ARCH_X86_64 = 0xC000003E
_LD_ABS_W, _JEQ, _JGT, _JSET, _JA, _RET = 0x20, 0x15, 0x25, 0x45, 0x05, 0x06
_ENOSYS = 38


def _largest_syscalls(p):
    """{audit arch: {"": largest number} or, on x86_64 with x32, {"64": n, "x32": m}}."""
    out: dict[int, dict[str, int]] = {}
    for arch in p.archs:
        token = L.resolve_arch(arch)
        numbers = [n for n in (L.resolve_syscall_arch(token, name) for name in p.names) if n >= 0]
        if not numbers:
            continue
        if arch == "x32":
            out.setdefault(_AUDIT_ARCH_X86_64, {})["x32"] = max(numbers)
        elif arch == "x86_64":
            out.setdefault(_AUDIT_ARCH_X86_64, {})["64"] = max(numbers)
        else:
            out[token] = {"": max(numbers)}
    return out


def enosys_stub(p):
    """The BPF instructions to put before the filter (b"" when none are needed)."""
    if p.default_action in (action_value(a) for a in _ALLOW_LIKE) or p.default_action == L.act_errno(_ENOSYS):
        return b""
    largest = _largest_syscalls(p)
    if not largest:
        return b""
    # instructions with symbolic jump targets ("enosys", "filter", or a block label), resolved below
    code: list[tuple[int, str | None, str | None, int | str]] = []  # (op, jump if true, if false, k)
    labels: dict[str, int] = {}
    for i, (audit, maxima) in enumerate(largest.items()):
        labels[f"arch{i}"] = len(code)
        nxt = f"arch{i + 1}" if i + 1 < len(largest) else "filter"
        code += [(_LD_ABS_W, None, None, 4), (_JEQ, None, nxt, audit), (_LD_ABS_W, None, None, 0)]
        if "" in maxima:
            code.append((_JGT, "enosys", "filter", maxima[""]))
            continue
        # x86_64 and x32 share an audit arch; x32 numbers carry bit 30
        code.append((_JSET, f"x32_{i}" if "x32" in maxima else "filter", None, _X32_BIT))
        code.append((_JGT, "enosys", "filter", maxima["64"]) if "64" in maxima else (_JA, None, None, "filter"))
        if "x32" in maxima:
            labels[f"x32_{i}"] = len(code)
            code.append((_JGT, "enosys", "filter", maxima["x32"]))
    labels["enosys"] = len(code)
    code.append((_RET, None, None, L.act_errno(_ENOSYS)))
    labels["filter"] = len(code)
    out = bytearray()
    for pc, (op, jt, jf, k) in enumerate(code):
        if op == _JA:
            k = _rel(labels, k, pc)
        out += struct.pack("=HBBI", op, _rel(labels, jt, pc), _rel(labels, jf, pc), k)
    return bytes(out)


def _rel(labels, target, pc):
    """BPF jumps count the instructions skipped after this one."""
    return 0 if target is None else labels[target] - pc - 1


# --- the program cache -----------------------------------------------------------------
# Root-only, in tmpfs (gone at reboot), one file per filter named by the hash of everything
# that shapes the BPF: libseccomp's version, the machine and the plan (flags are not in the BPF).
# A directory anyone else could write to is not trusted: the cache is then skipped.

CACHE_DIR = "/run/pyrunc-seccomp"
_CACHE_FORMAT = 3  # bump when what build() makes of a plan changes


def _cache_key(p):
    import hashlib

    what = repr((_CACHE_FORMAT, L.version(), os.uname().machine, p.default_action, p.archs, p.optimize,
                 [(r.syscall, r.action, r.conds) for r in p.rules], p.names))
    return hashlib.sha256(what.encode()).hexdigest()


def _trusted(st):
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _cache_read(key, flags):
    try:
        if not _trusted(os.stat(CACHE_DIR)):
            return None
        fd = os.open(os.path.join(CACHE_DIR, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not _trusted(os.fstat(fd)):
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            head, _, bpf = f.read().partition(b"\n")
        skipped = head.decode().split(",") if head else []
    except (OSError, UnicodeDecodeError):
        return None
    finally:
        os.close(fd)
    if not bpf or len(bpf) % 8:
        return None
    return Program(bpf, flags, skipped)


def _cache_write(key, prog):
    """Best effort: a cache that cannot be written only costs the next container the compile."""
    try:
        os.makedirs(CACHE_DIR, 0o700, exist_ok=True)
        if not _trusted(os.stat(CACHE_DIR)):
            return
        tmp = os.path.join(CACHE_DIR, f".{key}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(",".join(prog.skipped).encode() + b"\n" + prog.bpf)
        os.rename(tmp, os.path.join(CACHE_DIR, key))
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load(prog):
    """Load a filter into the calling thread: a Program from build(), or a Seccomp section.

    What the caller must respect:
    - Import this module before pivot_root/chroot. A Seccomp section that
      validate() saw before the fork is not compiled again; any other is
      compiled now (without the cache), and its errors surface only in init.
    - Call it last before execve: from here on every syscall, execve included,
      goes through the filter, so the profile must allow execve and whatever
      runs in between. Loading itself is one seccomp(2) call through ctypes.
    - no_new_privs is the caller's: if the config sets noNewPrivileges, set it
      before calling this; if not, the thread needs CAP_SYS_ADMIN, so call this
      before dropping capabilities.
    - The process should be single-threaded (the filter binds the caller only,
      unless flags carry SECCOMP_FILTER_FLAG_TSYNC).
    """
    if not isinstance(prog, Program):
        seen = _built.get(id(prog))
        prog = seen[1] if seen and seen[0] is prog else build(prog)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    fprog = SockFprog(len(prog.bpf) // 8, prog.bpf)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(_SYS_SECCOMP, _SECCOMP_SET_MODE_FILTER, ctypes.c_ulong(prog.flags), ctypes.byref(fprog)) < 0:
        err = ctypes.get_errno()
        raise PyruncError(f"error loading seccomp filter into kernel: {os.strerror(err)}")
