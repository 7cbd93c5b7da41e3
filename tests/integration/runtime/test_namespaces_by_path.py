"""Namespaces joined by path, as CRI pods and `docker --network container:X` join them: hostname and
net.*/IPC sysctls are set in a joined namespace, and refused only when the path is the host's own
namespace (runc's rule). A config without a mount namespace entry runs in the caller's."""

import os
import subprocess

import pytest

from tests.harness.runtime import IS_RUNC

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
