"""Namespaces joined by path, as CRI pods and `docker --network container:X` join them: hostname and
net.*/IPC sysctls are set in a joined namespace, and refused only when the path is the host's own
namespace (runc's rule). A config without a mount namespace entry runs in the caller's."""

import os
import subprocess

import pytest

from tests.harness.leaks import mounts_naming
from tests.harness.runtime import IS_RUNC, ROOTFS, Runtime

PORT_START = "net.ipv4.ip_unprivileged_port_start"


@pytest.fixture
def persistent_ns(tmp_path):
    """Make namespaces that outlive their process, bound on files (as `ip netns add` does); unmounted after."""
    made = []

    def make(*kinds):
        paths = {}
        for kind in kinds:
            paths[kind] = tmp_path / f"ns-{kind}"
            paths[kind].touch()
            made.append(paths[kind])
        subprocess.run(["unshare"] + [f"--{k}={p}" for k, p in paths.items()] + ["true"], check=True)
        return paths

    yield make
    for p in made:
        subprocess.run(["umount", str(p)], capture_output=True)


def joined(kind, path):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != kind]
        cfg["linux"]["namespaces"].append({"type": kind, "path": str(path)})
    return edit


def in_ns(flag, path, *argv):
    return subprocess.run(["nsenter", f"{flag}={path}", *argv], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_sysctl_and_hostname_in_namespaces_joined_by_path(rt, bundle, persistent_ns):
    ns = persistent_ns("net", "uts")
    host_value = host_sysctl(PORT_START)

    def edit(cfg):
        joined("network", ns["net"])(cfg)
        joined("uts", ns["uts"])(cfg)
        cfg["hostname"] = "joined-by-path"
        cfg["linux"]["sysctl"] = {PORT_START: "80"}

    b = bundle(["sh", "-c", f"hostname; cat /proc/sys/{PORT_START.replace('.', '/')}"], edit=edit)
    out = rt("run", "--bundle", b, rt.new_id()).stdout.split()
    assert out == ["joined-by-path", "80"]
    # set in the namespaces joined, not the host's
    assert in_ns("--uts", ns["uts"], "hostname") == "joined-by-path"
    assert in_ns("--net", ns["net"], "cat", f"/proc/sys/{PORT_START.replace('.', '/')}") == "80"
    assert host_sysctl(PORT_START) == host_value
    assert os.uname().nodename != "joined-by-path"


def host_sysctl(key):
    with open("/proc/sys/" + key.replace(".", "/")) as f:
        return f.read().strip()


# each sets the host's current value: should a runtime wrongly accept it, the host is unchanged
@pytest.mark.parametrize("kind,proc_name,setting,words", [
    ("network", "net", {"linux": {"sysctl": {PORT_START: host_sysctl(PORT_START)}}},
     f"linux.sysctl.{PORT_START}: needs a private"),
    ("ipc", "ipc", {"linux": {"sysctl": {"kernel.shmmni": host_sysctl("kernel.shmmni")}}},
     "linux.sysctl.kernel.shmmni: needs a private"),
    ("uts", "uts", {"hostname": os.uname().nodename}, "unable to set hostname without a private UTS namespace"),
], ids=["net-sysctl", "ipc-sysctl", "hostname"])
def test_the_hosts_own_namespace_by_path_is_still_refused(rt, bundle, kind, proc_name, setting, words):
    if IS_RUNC and kind != "network":
        pytest.skip("runc checks only that an ipc or uts entry exists, whatever its path")

    def edit(cfg):
        joined(kind, f"/proc/{os.getpid()}/ns/{proc_name}")(cfg)
        cfg.pop("hostname", None)
        for key, value in setting.items():
            if isinstance(value, dict):
                cfg[key].update(value)
            else:
                cfg[key] = value

    p = rt("run", "--bundle", bundle(["true"], edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0
    assert len(p.stderr.splitlines()) == 1, p.stderr
    if not IS_RUNC:
        assert words in p.stderr


@pytest.fixture
def caller_mount_ns(tmp_path):
    """A mount namespace bound on a file, for the runtime to be called in: without a mount namespace of
    its own the container's mounts land in the caller's, and runc makes the caller's / rslave."""
    path = tmp_path / "ns-mnt"
    path.touch()
    p = subprocess.run(["unshare", f"--mount={path}", "--propagation", "unchanged", "true"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot bind a mount namespace on a file here: {p.stderr.strip()}")
    yield path
    subprocess.run(["umount", str(path)], capture_output=True)


class CalledIn(Runtime):
    """The runtime, run by nsenter in another mount namespace."""

    def __init__(self, rt, mnt_ns):
        super().__init__(rt.binary, rt.root, rt.token)
        self.mnt_ns = mnt_ns

    def cmd(self, *args, **kw):
        return ["nsenter", f"--mount={self.mnt_ns}"] + super().cmd(*args, **kw)


def without_mount_namespace(rootfs):
    def edit(cfg):
        cfg["root"]["path"] = str(rootfs)
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "mount"]
        # runc refuses these without a mount namespace: masking them would hide them from the host
        cfg["linux"].pop("maskedPaths", None)
        cfg["linux"].pop("readonlyPaths", None)
    return edit


def bound_rootfs(tmp_path, mnt_ns):
    """The fixture rootfs bound at a path of this test's, in the caller's namespace only."""
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    in_ns("--mount", mnt_ns, "mount", "--bind", ROOTFS, str(rootfs))
    return rootfs


def mounts_in(mnt_ns, needle):
    text = in_ns("--mount", mnt_ns, "cat", "/proc/self/mountinfo")
    return [line for line in text.splitlines() if needle in line]


def test_no_mount_namespace_runs_in_the_callers(rt, bundle, tmp_path, caller_mount_ns):
    rootfs = bound_rootfs(tmp_path, caller_mount_ns)
    caller = CalledIn(rt, caller_mount_ns)
    b = bundle(["sh", "-c", "readlink /proc/self/ns/mnt; ls /"], edit=without_mount_namespace(rootfs))
    out = caller("run", "--bundle", b, rt.new_id()).stdout.split()
    assert out[0] == in_ns("--mount", caller_mount_ns, "readlink", "/proc/self/ns/mnt")
    assert out[1:] == sorted(os.listdir(ROOTFS))


@pytest.mark.xfail(IS_RUNC, strict=True, reason="runc 1.1.5 leaves the rootfs bind and every mount under it in "
                                                 "the caller's mount namespace after delete")
def test_no_mount_namespace_leaves_no_mount_after_delete(rt, bundle, tmp_path, caller_mount_ns):
    rootfs = bound_rootfs(tmp_path, caller_mount_ns)
    before = mounts_in(caller_mount_ns, str(tmp_path))
    caller = CalledIn(rt, caller_mount_ns)
    cid = rt.new_id()
    caller("create", "--bundle", bundle(["true"], edit=without_mount_namespace(rootfs)), cid)
    made = mounts_in(caller_mount_ns, str(tmp_path))
    assert f" {rootfs}/proc " in "\n".join(made)  # init mounted in the caller's namespace
    assert not mounts_naming(str(rootfs)), "mounted in the host's namespace"
    caller("start", cid)
    assert caller.wait_status(cid, "stopped") == "stopped"
    caller("delete", cid)
    assert mounts_in(caller_mount_ns, str(tmp_path)) == before


@pytest.mark.xfail(IS_RUNC, strict=True, reason="runc 1.1.5 leaves what init mounted in the caller's mount "
                                                 "namespace when a create fails")
def test_no_mount_namespace_failed_create_leaves_no_mount(rt, bundle, tmp_path, caller_mount_ns):
    rootfs = bound_rootfs(tmp_path, caller_mount_ns)
    before = mounts_in(caller_mount_ns, str(tmp_path))
    missing = {"destination": "/mnt", "type": "bind", "source": str(tmp_path / "missing"), "options": ["bind"]}

    def edit(cfg):
        without_mount_namespace(rootfs)(cfg)
        cfg["mounts"].append(missing)  # fails after /proc, /dev... are mounted

    p = CalledIn(rt, caller_mount_ns)("create", "--bundle", bundle(["true"], edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0
    assert mounts_in(caller_mount_ns, str(tmp_path)) == before


@pytest.mark.xfail(IS_RUNC, strict=True, reason="runc 1.1.5 runs the exec'd process in the caller's root, "
                                                 "outside the container's")
def test_no_mount_namespace_exec_sees_the_containers_root(rt, bundle, tmp_path, caller_mount_ns):
    rootfs = bound_rootfs(tmp_path, caller_mount_ns)
    caller = CalledIn(rt, caller_mount_ns)
    cid = rt.new_id()
    caller("run", "--detach", "--bundle", bundle(["sleep", "30"], edit=without_mount_namespace(rootfs)), cid)
    try:
        assert caller("exec", cid, "ls", "/").stdout.split() == sorted(os.listdir(ROOTFS))
    finally:
        caller("delete", "--force", cid)


def test_masked_paths_need_a_mount_namespace(rt, bundle):
    def edit(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "mount"]
        cfg["linux"]["maskedPaths"] = ["/proc/kcore"]

    p = rt("run", "--bundle", bundle(["true"], edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0
    assert len(p.stderr.splitlines()) == 1, p.stderr
    assert "unable to restrict sys entries without a private MNT namespace" in p.stderr
