"""process.capabilities through the runtime's command line: the sets the container's process
ends up with, and dropped capabilities making the matching operations fail."""

import pytest

from tests.harness.runtime import IS_RUNC

NAMES = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
         "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
         "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW")
# what docker gives a container by default
DOCKER = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
          "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
          "CAP_AUDIT_WRITE"]


def mask(names):
    return sum(1 << NAMES.index(n) for n in names)


def with_caps(uid=None, **sets):
    def edit(cfg):
        cfg["process"]["capabilities"] = sets
        if uid is not None:
            cfg["process"]["user"] = {"uid": uid, "gid": uid}
    return edit


def same(names):
    return {k: list(names) for k in ("bounding", "effective", "permitted")}


def status(rt, b):
    out = rt("run", "--bundle", b, rt.new_id()).stdout
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in out.splitlines())}


GREP_CAPS = ["grep", "^Cap", "/proc/self/status"]


def test_each_set_as_configured(rt, bundle):
    b = bundle(GREP_CAPS, edit=with_caps(
        bounding=["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"], effective=["CAP_CHOWN", "CAP_KILL"],
        permitted=["CAP_CHOWN", "CAP_KILL"], inheritable=["CAP_KILL"]))
    st = status(rt, b)  # noNewPrivileges (the default spec's) keeps execve from adding any
    assert st["CapBnd"] == mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"])
    assert st["CapPrm"] == st["CapEff"] == mask(["CAP_CHOWN", "CAP_KILL"])
    assert st["CapInh"] == mask(["CAP_KILL"])
    assert st["CapAmb"] == 0


def test_sets_left_out_are_empty(rt, bundle):
    st = status(rt, bundle(GREP_CAPS, edit=with_caps(bounding=["CAP_CHOWN"])))
    assert (st["CapBnd"], st["CapPrm"], st["CapEff"], st["CapInh"], st["CapAmb"]) == (mask(["CAP_CHOWN"]), 0, 0, 0, 0)


def test_no_capabilities_section_means_none(rt, bundle):
    def edit(cfg):
        del cfg["process"]["capabilities"]

    st = status(rt, bundle(GREP_CAPS, edit=edit))
    assert st == {"CapInh": 0, "CapPrm": 0, "CapEff": 0, "CapBnd": 0, "CapAmb": 0}


CHOWN = ["sh", "-c", "touch /dev/shm/f && chown 1 /dev/shm/f && echo changed"]


def test_chown_needs_cap_chown(rt, bundle):
    without = [c for c in DOCKER if c != "CAP_CHOWN"]
    p = rt("run", "--bundle", bundle(CHOWN, edit=with_caps(**same(without))), rt.new_id(), check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr + p.stdout
    p = rt("run", "--bundle", bundle(CHOWN, edit=with_caps(**same(DOCKER))), rt.new_id())
    assert p.stdout == "changed\n"


PING = ["sh", "-c", "busybox ip link set lo up && ping -c1 -W1 127.0.0.1"]


def test_raw_socket_needs_cap_net_raw(rt, bundle):
    p = rt("run", "--bundle", bundle(PING, edit=with_caps(**same(["CAP_NET_ADMIN"]))), rt.new_id(), check=False)
    assert p.returncode != 0 and "permission denied" in p.stderr + p.stdout
    p = rt("run", "--bundle", bundle(PING, edit=with_caps(**same(["CAP_NET_ADMIN", "CAP_NET_RAW"]))), rt.new_id())
    assert "1 packets received" in p.stdout


def test_ambient_caps_for_a_non_root_user(rt, bundle):
    chown = ["CAP_CHOWN"]
    b = bundle(CHOWN, edit=with_caps(uid=1000, bounding=chown, effective=chown, permitted=chown,
                                     inheritable=chown, ambient=chown))
    assert rt("run", "--bundle", b, rt.new_id()).stdout == "changed\n"
    b = bundle(CHOWN, edit=with_caps(uid=1000, bounding=chown, effective=chown, permitted=chown, inheritable=chown))
    p = rt("run", "--bundle", b, rt.new_id(), check=False)
    assert p.returncode != 0 and "Operation not permitted" in p.stderr + p.stdout


def test_unknown_capability(rt, bundle):
    cid = rt.new_id()
    p = rt("run", "--bundle", bundle(GREP_CAPS, edit=with_caps(**same(["CAP_CHOWN", "CAP_BOGUS"]))), cid,
           check=False)
    if IS_RUNC:
        # runc 1.1 warns and drops the name; pyrunc refuses the config, naming the field
        assert p.returncode == 0 and "CAP_BOGUS" in p.stderr
        return
    assert p.returncode != 0
    # the log line escapes the quotes
    assert "process.capabilities.bounding[1]: unknown capability" in p.stderr and "CAP_BOGUS" in p.stderr
    assert rt("state", cid, check=False).returncode != 0


@pytest.fixture
def sleeper(rt, bundle):
    cid = rt.new_id()
    rt("run", "--detach", "--bundle", bundle(["sleep", "60"], edit=with_caps(**same(["CAP_KILL"]))), cid)
    yield cid
    rt("delete", "--force", cid)


def test_exec_cap_adds_a_capability(rt, sleeper):
    p = rt("exec", sleeper, *CHOWN, check=False)
    assert p.returncode != 0
    p = rt("exec", "--cap", "CAP_CHOWN", sleeper, *CHOWN)
    assert p.stdout == "changed\n"
    st = {k: int(v, 16) for k, v in (line.split(":\t") for line in
                                    rt("exec", "--cap", "CAP_CHOWN", sleeper, *GREP_CAPS).stdout.splitlines())}
    assert st["CapBnd"] == st["CapEff"] == mask(["CAP_CHOWN", "CAP_KILL"])


def test_exec_unknown_cap(rt, sleeper):
    p = rt("exec", "--cap", "CAP_BOGUS", sleeper, "true", check=False)
    if IS_RUNC:
        assert p.returncode == 0 and "CAP_BOGUS" in p.stderr  # runc 1.1 warns and drops it
        return
    assert p.returncode != 0 and "unknown capability" in p.stderr and "CAP_BOGUS" in p.stderr
