"""LSM fields on a kernel without that LSM: refused before anything is created, never run unconfined."""

import os

import pytest

from tests.harness.runtime import IS_RUNC

pytestmark = pytest.mark.skipif(
    os.path.exists("/sys/fs/selinux/enforce") or os.path.exists("/sys/module/apparmor/parameters/enabled"),
    reason="this host has an LSM: the refusals below are for hosts without one")

LABEL = "system_u:system_r:container_t:s0"
# runc 1.1 has a check only for selinuxLabel; the others fail later, in its own words
CASES = {
    "apparmor": (lambda c: c["process"].__setitem__("apparmorProfile", "docker-default"),
                 "process.apparmorProfile: apparmor profile specified but AppArmor is not enabled on this system",
                 "apparmor"),
    "selinux": (lambda c: c["process"].__setitem__("selinuxLabel", LABEL),
                "process.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported",
                "selinux label is specified in config, but selinux is disabled or not supported"),
    "mount": (lambda c: c["linux"].__setitem__("mountLabel", LABEL),
              "linux.mountLabel: selinux label is specified in config, but selinux is disabled or not supported",
              "context="),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["create", "run"])
def test_config_label_is_refused(rt, bundle, case, command):
    edit, ours, runcs = CASES[case]
    p = rt(command, "--bundle", bundle(edit=edit), rt.new_id(), check=False)
    assert p.returncode != 0
    assert (runcs if IS_RUNC else ours) in p.stderr, p.stderr
    if not IS_RUNC:
        assert len(p.stderr.strip().splitlines()) == 1
    assert rt.ids() == []


@pytest.mark.parametrize("flag, value, ours, runcs", [
    ("--apparmor", "docker-default", "--apparmor: apparmor profile specified but AppArmor is not enabled", "apparmor"),
    ("--process-label", LABEL, "--process-label: selinux label is specified in config, but selinux is disabled",
     "selinux label is specified in config, but selinux is disabled"),
], ids=["apparmor", "process-label"])
def test_exec_label_is_refused(rt, bundle, flag, value, ours, runcs):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "1000"]), cid)
    try:
        p = rt("exec", flag, value, cid, "true", check=False)
        assert p.returncode == 255
        assert (runcs if IS_RUNC else ours) in p.stderr, p.stderr
        assert rt("ps", "-f", "json", cid).stdout.count(",") == 0  # only init: nothing ran
    finally:
        rt("delete", "-f", cid, check=False)
