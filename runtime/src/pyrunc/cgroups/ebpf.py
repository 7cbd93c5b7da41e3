"""The cgroup v2 device filter: device rules compiled to a BPF_PROG_TYPE_CGROUP_DEVICE program.

cgroup v2 has no devices.allow file; the kernel asks a BPF program attached to
the cgroup instead. The program sees (type, access, major, minor) and returns 1
to allow or 0 to refuse. Rules are checked last to first, the first that matches
decides, as the v1 list behaves for runc's rule lists: rules before the last
"a" (all devices) rule no longer matter and that rule sets the default.
An allow rule matches when it grants every access asked for; a deny rule
matches when it refuses any of them.
"""

import ctypes
import os

from ..errors import PyruncError

_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine)
_BPF_PROG_LOAD = 5
_BPF_PROG_ATTACH = 8
_BPF_PROG_TYPE_CGROUP_DEVICE = 15
_BPF_CGROUP_DEVICE = 6
_BPF_F_ALLOW_MULTI = 2

# struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }
_DEV_TYPE = {"b": 1, "c": 2}
_ACCESS = {"m": 1, "r": 2, "w": 4}

# opcodes (linux/bpf.h)
_LDX_W = 0x61        # dst = *(u32 *)(src + off)
_AND32_K = 0x54      # dst &= imm
_RSH32_K = 0x74      # dst >>= imm
_MOV64_K = 0xB7      # dst = imm
_MOV64_X = 0xBF      # dst = src
_JNE_K = 0x55        # if dst != imm: pc += off
_JEQ_K = 0x15        # if dst == imm: pc += off
_EXIT = 0x95


def _insn(code, dst=0, src=0, off=0, imm=0):
    return (code, dst, src, off, imm)


def _access_bits(access):
    bits = 0
    for ch in access:
        bits |= _ACCESS[ch]
    return bits


def compile_rules(rules):
    """Rules (devices.Rule, in spec order) -> a list of BPF instructions."""
    default = True
    start = 0
    for i, r in enumerate(rules):
        if r.type == "a":
            default, start = r.allow, i + 1
    prog = [
        _insn(_LDX_W, 2, 1, 0),      # r2 = access_type
        _insn(_AND32_K, 2, imm=0xFFFF),  # r2 = type
        _insn(_LDX_W, 3, 1, 0),
        _insn(_RSH32_K, 3, imm=16),  # r3 = access
        _insn(_LDX_W, 4, 1, 4),      # r4 = major
        _insn(_LDX_W, 5, 1, 8),      # r5 = minor
    ]
    for r in reversed(rules[start:]):
        block = []
        # each jump is patched to "past this block" once the block's length is known
        if r.type in _DEV_TYPE:
            block.append([_JNE_K, 2, 0, None, _DEV_TYPE[r.type]])
        bits = _access_bits(r.access)
        if bits != 7:
            block.append([_MOV64_X, 1, 3, 0, 0])
            if r.allow:
                block.append([_AND32_K, 1, 0, 0, ~bits & 7])   # asked for something not granted?
                block.append([_JNE_K, 1, 0, None, 0])
            else:
                block.append([_AND32_K, 1, 0, 0, bits])        # asked for something refused?
                block.append([_JEQ_K, 1, 0, None, 0])
        if r.major is not None and r.major >= 0:
            block.append([_JNE_K, 4, 0, None, r.major])
        if r.minor is not None and r.minor >= 0:
            block.append([_JNE_K, 5, 0, None, r.minor])
        block.append([_MOV64_K, 0, 0, 0, 1 if r.allow else 0])
        block.append([_EXIT, 0, 0, 0, 0])
        for i, ins in enumerate(block):
            if ins[3] is None:
                ins[3] = len(block) - i - 1
        prog.extend(tuple(ins) for ins in block)
    prog.append(_insn(_MOV64_K, 0, imm=1 if default else 0))
    prog.append(_insn(_EXIT))
    return prog


def _encode(prog):
    out = bytearray()
    for code, dst, src, off, imm in prog:
        out += bytes([code, (src << 4) | dst]) + off.to_bytes(2, "little", signed=True) \
            + (imm & 0xFFFFFFFF).to_bytes(4, "little")
    return bytes(out)


def _bpf(cmd, attr):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    buf = ctypes.create_string_buffer(attr, len(attr))
    assert _SYS_BPF is not None  # attach() refused the architecture before
    ret = libc.syscall(ctypes.c_long(_SYS_BPF), ctypes.c_long(cmd), buf, ctypes.c_long(len(attr)))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def _load(code, license_, log):
    # union bpf_attr for BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level, log_size, log_buf
    attr = (_BPF_PROG_TYPE_CGROUP_DEVICE.to_bytes(4, "little") + (len(code.raw) // 8).to_bytes(4, "little")
            + ctypes.addressof(code).to_bytes(8, "little") + ctypes.addressof(license_).to_bytes(8, "little"))
    if log is not None:
        attr += ((1).to_bytes(4, "little") + len(log).to_bytes(4, "little")
                 + ctypes.addressof(log).to_bytes(8, "little"))
    return _bpf(_BPF_PROG_LOAD, attr.ljust(128, b"\0"))


def attach(cgroup_dir, rules):
    """Load the program for rules and attach it to cgroup_dir."""
    if _SYS_BPF is None:
        raise PyruncError("linux.resources.devices: no BPF device filter on this architecture")
    code = ctypes.create_string_buffer(_encode(compile_rules(rules)))
    license_ = ctypes.create_string_buffer(b"Apache-2.0")
    try:
        prog_fd = _load(code, license_, None)
    except OSError as e:
        # load again with the verifier's log, only to say why
        log = ctypes.create_string_buffer(1 << 18)
        try:
            _load(code, license_, log)
        except OSError:
            pass
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise PyruncError(f"linux.resources.devices: loading the BPF device filter failed: {e.strerror}"
                          + (f": {detail[-1]}" if detail else "")) from None
    try:
        cg_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            # target_fd, attach_bpf_fd, attach_type, attach_flags
            attr = (cg_fd.to_bytes(4, "little") + prog_fd.to_bytes(4, "little")
                    + _BPF_CGROUP_DEVICE.to_bytes(4, "little") + _BPF_F_ALLOW_MULTI.to_bytes(4, "little"))
            _bpf(_BPF_PROG_ATTACH, attr.ljust(128, b"\0"))
        except OSError as e:
            raise PyruncError(f"linux.resources.devices: attaching the BPF device filter to {cgroup_dir} "
                              f"failed: {e.strerror}") from None
        finally:
            os.close(cg_fd)
    finally:
        # the attached cgroup keeps the program alive
        os.close(prog_fd)
