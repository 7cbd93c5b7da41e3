"""Namespaces, rootfs, mounts, /dev, masked and read-only paths, hostname, sysctl."""

import os
import shutil

import pytest

from tests.harness.runtime import IS_RUNC, ROOTFS


def run_out(rt, bundle, script, edit=None, **kw):
    p = rt("run", "--bundle", bundle(["sh", "-c", script], edit=edit), rt.new_id(), **kw)
    return p.stdout


def test_pid_namespace_makes_init_pid_1(rt, bundle):
    assert run_out(rt, bundle, "echo $$").strip() == "1"


@pytest.mark.parametrize("kind,proc_name", [("ipc", "ipc"), ("uts", "uts"), ("network", "net"),
                                            ("mount", "mnt"), ("pid", "pid")])
def test_new_namespaces_differ_from_host(rt, bundle, kind, proc_name):
    inside = run_out(rt, bundle, f"readlink /proc/self/ns/{proc_name}").strip()
    assert inside and inside != os.readlink(f"/proc/self/ns/{proc_name}")


def test_cgroup_namespace(rt, bundle):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "cgroup"})
    out = run_out(rt, bundle, "cat /proc/self/cgroup", edit=edit)
    assert all(line.endswith(":/") for line in out.splitlines()), out


def test_network_namespace_has_only_loopback(rt, bundle):
    out = run_out(rt, bundle, "cat /proc/net/dev")
    ifaces = [line.split(":")[0].strip() for line in out.splitlines()[2:]]
    assert ifaces == ["lo"]


def test_join_namespace_by_path(rt, bundle):
    a = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"]), a)
    pid = rt.state(a)["pid"]

    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] not in ("network", "uts")]
        c["linux"]["namespaces"] += [{"type": "network", "path": f"/proc/{pid}/ns/net"},
                                     {"type": "uts", "path": f"/proc/{pid}/ns/uts"}]
        c.pop("hostname")
    out = run_out(rt, bundle, "readlink /proc/self/ns/net; hostname", edit=edit).split()
    assert out == [os.readlink(f"/proc/{pid}/ns/net"), "pyrunc"]
    rt("delete", "-f", a)


def test_user_namespace_with_mappings(rt, bundle):
    def edit(c):
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"], edit=edit), cid)
    pid = rt.state(cid)["pid"]
    with open(f"/proc/{pid}/status") as f:
        uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
    assert uids == ["100000"] * 4
    with open(f"/proc/{pid}/uid_map") as f:
        assert f.read().split() == ["0", "100000", "65536"]
    out = rt("exec", cid, "sh", "-c", "id -u; stat -c %U /bin/busybox").stdout.split()
    assert out == ["0", "nobody"]  # host root is unmapped inside
    rt("delete", "-f", cid)


def test_hostname(rt, bundle):
    assert run_out(rt, bundle, "hostname", edit=lambda c: c.__setitem__("hostname", "box")).split() == ["box"]


@pytest.mark.xfail(IS_RUNC, reason="runc 1.1.5 predates the spec's domainname (runc 1.2 added it)", strict=True)
def test_domainname(rt, bundle):
    out = run_out(rt, bundle, "cat /proc/sys/kernel/domainname", edit=lambda c: c.__setitem__("domainname", "ex.org"))
    assert out.split() == ["ex.org"]


def test_hostname_without_uts_namespace_is_refused(rt, bundle):
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "uts"]
    p = rt("create", "--bundle", bundle(edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0 and "hostname" in p.stderr.lower()
    assert rt.ids() == []


def test_sysctl(rt, bundle):
    def edit(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1000"}
    out = run_out(rt, bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni", edit=edit)
    assert out.split() == ["1", "1000"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() != "1000"


def test_readonly_root(rt, bundle):
    out = run_out(rt, bundle, "touch /x 2>&1; echo rc=$?")
    assert "Read-only file system" in out and "rc=1" in out


def test_writable_root(rt, bundle, tmp_path):
    rootfs = tmp_path / "rootfs"
    shutil.copytree(ROOTFS, rootfs, symlinks=True)

    def edit(c):
        c["root"] = {"path": str(rootfs), "readonly": False}
    run_out(rt, bundle, "echo data > /x", edit=edit)
    assert (rootfs / "x").read_text() == "data\n"


def test_no_pivot(rt, bundle):
    cid = rt.new_id()
    p = rt("run", "--no-pivot", "--bundle", bundle(["sh", "-c", "echo $$; ls /bin/busybox"]), cid)
    assert p.stdout.split() == ["1", "/bin/busybox"]


def test_mounts_bind_tmpfs_and_options(rt, bundle, tmp_path):
    # destinations that exist in the fixture rootfs: a missing one would be created in the shared fixture
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("host\n")
    single = tmp_path / "single"
    single.write_text("one file\n")

    def edit(c):
        c["mounts"] += [
            {"destination": "/var", "type": "bind", "source": str(src), "options": ["rbind", "ro", "nosuid"]},
            {"destination": "/root", "type": "bind", "source": str(src), "options": ["bind", "rw", "rprivate"]},
            {"destination": "/etc/group", "type": "bind", "source": str(single), "options": ["bind", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=700"]},
        ]
    script = ("cat /var/f; touch /var/new 2>/dev/null || echo ro-refused; echo w > /root/written; "
              "cat /etc/group; grep ' /tmp ' /proc/self/mountinfo")
    out = run_out(rt, bundle, script, edit=edit).splitlines()
    assert out[:3] == ["host", "ro-refused", "one file"]
    assert all(word in out[3] for word in ("noexec", "nodev", "nosuid", "mode=700", "size=1024k")), out[3]
    assert (src / "written").read_text() == "w\n"


def test_dev_has_default_devices_and_links(rt, bundle):
    script = ("for d in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$d; done; "
              "for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; echo x > /dev/null && echo ok")
    out = run_out(rt, bundle, script).splitlines()
    assert out[0] == "/dev/null character special file 1:3 666"
    assert out[5] == "/dev/tty character special file 5:0 666"
    assert out[6:11] == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1", "/proc/self/fd/2", "pts/ptmx"]
    assert out[11] == "ok"


def test_spec_devices(rt, bundle):
    def edit(c):
        c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                                  "fileMode": 0o640, "uid": 0, "gid": 0}]
        c["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 229,
                                                   "access": "rwm"})
    assert run_out(rt, bundle, "stat -c '%F %t:%T %a' /dev/fuse", edit=edit).strip() == \
        "character special file a:e5 640"


def test_masked_and_readonly_paths(rt, bundle):
    script = ("cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; "
              "echo 1 > /proc/sys/kernel/printk 2>/dev/null || echo ro-refused")
    out = run_out(rt, bundle, script).split()
    assert out == ["0", "0", "ro-refused"]


@pytest.mark.parametrize("propagation", ["private", "rprivate", "slave", "rslave", "shared", "rshared"])
def test_rootfs_propagation_is_accepted(rt, bundle, propagation):
    def edit(c):
        c["linux"]["rootfsPropagation"] = propagation
    out = run_out(rt, bundle, "awk '$5 == \"/\"' /proc/self/mountinfo", edit=edit)
    if "private" in propagation:
        assert "shared:" not in out


@pytest.mark.parametrize("no_new_privs", [False, True])
def test_cgroup_namespace_without_cgroup_mount_under_seccomp_and_dropped_caps(rt, bundle, no_new_privs):
    """The namespace is made while init may still unshare: before docker's seccomp profile and cap drop."""
    from pyruncd.containers.seccomp import default_seccomp
    from pyruncd.containers.spec import DEFAULT_CAPS

    def edit(c):
        c["linux"]["namespaces"].append({"type": "cgroup"})
        c["mounts"] = [m for m in c["mounts"] if m["type"] != "cgroup"]
        c["linux"]["seccomp"] = default_seccomp(DEFAULT_CAPS)
        c["process"]["noNewPrivileges"] = no_new_privs
        c["process"]["capabilities"] = {k: list(DEFAULT_CAPS) for k in ("bounding", "effective", "permitted")}
    out = run_out(rt, bundle, "readlink /proc/self/ns/cgroup; cat /proc/self/cgroup", edit=edit).splitlines()
    assert out[0] != os.readlink("/proc/self/ns/cgroup")
    assert all(line.endswith(":/") for line in out[1:]), out
