"""lsm: what pyrunc would write where the kernel has AppArmor or SELinux, on a fake /sys and /proc/self."""

import pytest
from pyrunc import lsm
from pyrunc.errors import ConfigError

FIELDS = {"apparmor": "process.apparmorProfile", "selinux": "process.selinuxLabel", "mount": "linux.mountLabel"}


def host(tmp_path, apparmor=False, selinux=False, per_lsm_attr=False):
    sys_dir, proc = tmp_path / "sys", tmp_path / "self"
    (proc / "attr").mkdir(parents=True)
    (proc / "attr" / "exec").write_text("")
    params = sys_dir / "module" / "apparmor" / "parameters"
    params.mkdir(parents=True)
    (params / "enabled").write_text("Y\n" if apparmor else "N\n")
    if selinux:
        (sys_dir / "fs" / "selinux").mkdir(parents=True)
        (sys_dir / "fs" / "selinux" / "enforce").write_text("1")
    if per_lsm_attr:
        (proc / "attr" / "apparmor").mkdir()
        (proc / "attr" / "apparmor" / "exec").write_text("")
    return lsm.Host(sys=str(sys_dir), proc_self=str(proc))


def test_apparmor_profile_is_written_to_the_exec_attr(tmp_path):
    h = host(tmp_path, apparmor=True)
    lsm.validate(FIELDS, "docker-default", None, host=h)
    attrs = lsm.exec_attrs("docker-default", None, host=h)
    assert attrs == [(f"{tmp_path}/self/attr/exec", b"exec docker-default")]
    lsm.apply_exec_attrs(attrs)
    assert (tmp_path / "self" / "attr" / "exec").read_bytes() == b"exec docker-default"


def test_apparmor_prefers_its_own_attr_dir(tmp_path):
    h = host(tmp_path, apparmor=True, per_lsm_attr=True)
    assert lsm.exec_attrs("p", None, host=h) == [(f"{tmp_path}/self/attr/apparmor/exec", b"exec p")]


def test_selinux_label_and_mount_context(tmp_path):
    h = host(tmp_path, selinux=True)
    label = "system_u:system_r:container_t:s0:c1,c2"
    lsm.validate(FIELDS, None, label, "system_u:object_r:container_file_t:s0", host=h)
    attrs = lsm.exec_attrs(None, label, host=h)
    assert attrs == [(f"{tmp_path}/self/attr/exec", label.encode())]
    lsm.apply_exec_attrs(attrs)
    assert (tmp_path / "self" / "attr" / "exec").read_text() == label
    mount_label = "system_u:object_r:container_file_t:s0:c1,c2"
    assert lsm.mount_data("mode=755", "tmpfs", mount_label) == f'mode=755,context="{mount_label}"'
    assert lsm.mount_data(None, "devpts", mount_label) == f'context="{mount_label}"'
    for fstype in ("proc", "sysfs", "bind", "mqueue", "cgroup"):
        assert lsm.mount_data("ro", fstype, mount_label) == "ro"
    assert lsm.mount_data("mode=755", "tmpfs", None) == "mode=755"


@pytest.mark.parametrize("args, field, words", [
    (("p", None, None), "process.apparmorProfile", lsm.APPARMOR_DISABLED),
    ((None, "l", None), "process.selinuxLabel", lsm.SELINUX_DISABLED),
    ((None, None, "l"), "linux.mountLabel", lsm.SELINUX_DISABLED),
])
def test_refused_where_the_kernel_lacks_the_module(tmp_path, args, field, words):
    with pytest.raises(ConfigError) as e:
        lsm.validate(FIELDS, *args, host=host(tmp_path))
    assert str(e.value) == f"{field}: {words}"


def test_a_failed_write_names_the_attr(tmp_path):
    with pytest.raises(Exception) as e:
        lsm.apply_exec_attrs([(str(tmp_path / "missing" / "exec"), b"exec p")])
    assert str(e.value) == f"cannot apply security label: write {tmp_path}/missing/exec: no such file or directory"
