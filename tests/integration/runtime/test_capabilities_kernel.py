"""capabilities.prepare/finish on the real kernel, in forked children, around a real uid switch."""

import errno
import os
import shutil
import socket
import tempfile

import pytest
from pyrunc import capabilities, spec

from tests.harness import forked

NOBODY = 65534
EVERY = list(capabilities.known())


def caps(**sets):
    c = spec.from_dict(spec.Capabilities, sets, "process.capabilities")
    capabilities.validate(c)
    return c


def mask(names):
    return sum(1 << capabilities.NAMES.index(n) for n in names)


def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Cap"):
                key, value = line.split(":")
                out[key] = int(value, 16)
    return out


@pytest.fixture
def open_dir():
    """A directory nobody can reach (pytest's tmp_path sits under a 0700 dir)."""
    d = tempfile.mkdtemp(prefix=f"pyrunc-caps-{os.getpid()}-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d)


def in_child(c, body, uid=None):
    """The child applies `c` the way init does (prepare, uid switch, finish), then runs body()."""
    def setup():
        capabilities.prepare(c)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        capabilities.finish(c)
    return forked.in_child(setup, body)[0]


def without(*names):
    return [n for n in _have() if n not in names]


def _have():
    """What this test process may keep: its own permitted set (root here lacks CAP_SYS_RESOURCE)."""
    prm = _status()["CapPrm"]
    return [n for i, n in enumerate(EVERY) if prm >> i & 1]


def test_sets_are_exactly_as_listed():
    c = caps(bounding=["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"], effective=["CAP_CHOWN"],
             permitted=["CAP_CHOWN", "CAP_KILL"], inheritable=["CAP_KILL"])
    st = in_child(c, _status)["ok"]
    assert st["CapBnd"] == mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"])
    assert st["CapEff"] == mask(["CAP_CHOWN"])
    assert st["CapPrm"] == mask(["CAP_CHOWN", "CAP_KILL"])
    assert st["CapInh"] == mask(["CAP_KILL"])
    assert st["CapAmb"] == 0


def test_absent_sets_are_empty_and_none_leaves_all():
    st = in_child(caps(bounding=["CAP_KILL"]), _status)["ok"]
    assert (st["CapEff"], st["CapPrm"], st["CapInh"], st["CapAmb"]) == (0, 0, 0, 0)
    assert in_child(None, _status)["ok"] == _status()


def test_chown_fails_without_cap_chown(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    rest = without("CAP_CHOWN")
    assert in_child(caps(bounding=rest, effective=rest, permitted=rest), lambda: os.chown(f, 1000, 1000)) == \
        {"errno": errno.EPERM}
    assert os.stat(f).st_uid == 0
    every = _have()
    assert in_child(caps(bounding=every, effective=every, permitted=every), lambda: os.chown(f, 1000, 1000)) == \
        {"ok": None}
    assert os.stat(f).st_uid == 1000


def test_raw_socket_needs_cap_net_raw():
    def raw():
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()

    rest = without("CAP_NET_RAW")
    assert in_child(caps(bounding=rest, effective=rest, permitted=rest), raw) == {"errno": errno.EPERM}
    net_raw = ["CAP_NET_RAW"]
    assert in_child(caps(bounding=net_raw, effective=net_raw, permitted=net_raw), raw) == {"ok": None}


def test_caps_survive_the_switch_to_another_user(open_dir):
    f = os.path.join(open_dir, "f")
    open(f, "w").close()
    chown = ["CAP_CHOWN"]
    res = in_child(caps(bounding=chown, effective=chown, permitted=chown), lambda: (os.chown(f, 1234, 1234),
                                                                                   os.getuid())[1], uid=NOBODY)
    assert res == {"ok": NOBODY}
    assert os.stat(f).st_uid == 1234
    # and without it, nobody is nobody
    assert in_child(caps(bounding=chown), lambda: os.chown(f, 0, 0), uid=NOBODY) == {"errno": errno.EPERM}


def _exec_chown(path, uid):
    """Exec a fresh program (busybox chown) so only ambient capabilities carry over."""
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.execv("/bin/busybox", ["chown", str(uid), str(path)])
    return os.WEXITSTATUS(os.waitpid(pid, 0)[1])


def test_ambient_caps_reach_an_unprivileged_program(open_dir):
    f = os.path.join(open_dir, "f")
    open(f, "w").close()
    chown = ["CAP_CHOWN"]
    with_ambient = caps(bounding=chown, effective=chown, permitted=chown, inheritable=chown, ambient=chown)
    assert in_child(with_ambient, lambda: _exec_chown(f, 4321), uid=NOBODY) == {"ok": 0}
    assert os.stat(f).st_uid == 4321
    no_ambient = caps(bounding=chown, effective=chown, permitted=chown, inheritable=chown)
    assert in_child(no_ambient, lambda: _exec_chown(f, 0), uid=NOBODY) == {"ok": 1}
    assert os.stat(f).st_uid == 4321


def test_ambient_without_inheritable_is_left_out():
    # runc's default spec lists ambient caps but no inheritable ones: runc warns and goes on
    chown = ["CAP_CHOWN"]
    st = in_child(caps(bounding=chown, effective=chown, permitted=chown, ambient=chown), _status, uid=NOBODY)["ok"]
    assert st["CapAmb"] == 0 and st["CapEff"] == mask(chown)
