"""--sysctl: only a namespace the container has of its own, in runc's words; --stop-signal over the image's."""

import pytest
from pyruncd.containers import spec
from pyruncd.errors import InvalidArgument


@pytest.mark.parametrize(("key", "network", "error"), [
    ("net.ipv4.ip_forward", "bridge", None),
    ("net.core.somaxconn", "container:web", None),
    ("net.ipv4.ip_forward", "host", 'sysctl "net.ipv4.ip_forward" not allowed in host network namespace'),
    ("kernel.shmmax", "host", None),
    ("kernel.shm_rmid_forced", "bridge", None),
    ("kernel.sem", "none", None),
    ("fs.mqueue.msg_max", "bridge", None),
    ("kernel.domainname", "bridge", None),
    ("kernel.hostname", "bridge",
     'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field'),
    ("kernel.pid_max", "bridge", 'sysctl "kernel.pid_max" is not in a separate kernel namespace'),
    ("vm.swappiness", "bridge", 'sysctl "vm.swappiness" is not in a separate kernel namespace'),
    ("fs.file-max", "bridge", 'sysctl "fs.file-max" is not in a separate kernel namespace'),
])
def test_sysctl_namespaces(key, network, error):
    if error is None:
        spec.check_sysctls({key: "1"}, network)
    else:
        with pytest.raises(InvalidArgument, match="^" + error.replace(".", r"\.") + "$"):
            spec.check_sysctls({key: "1"}, network)


def _process(image_stop: str, flag: str) -> spec.Process:
    ic = {"config": {"Cmd": ["sh"], **({"StopSignal": image_stop} if image_stop else {})}}
    return spec.resolve_process(ic, cmd=[], entrypoint=[], entrypoint_set=False, env=[], workdir="", user="",
                                tty=False, hostname="h", stop_signal=flag)


@pytest.mark.parametrize(("image_stop", "flag", "want"), [
    ("", "", "SIGTERM"), ("SIGQUIT", "", "SIGQUIT"), ("SIGQUIT", "SIGUSR1", "SIGUSR1"), ("", "10", "10")])
def test_stop_signal_flag_over_the_image(image_stop, flag, want):
    assert _process(image_stop, flag).stop_signal == want


def test_bad_stop_signal_is_refused():
    with pytest.raises(InvalidArgument, match="^Invalid signal: SIGFOO$"):
        _process("", "SIGFOO")


def test_sysctls_reach_the_oci_config():
    settings = spec.Settings("h", "bridge", sysctls={"net.ipv4.ip_forward": "1"})
    doc = spec.build(_process("", ""), settings, user={"uid": 0, "gid": 0}, etc={}, cgroups_path="x")
    assert doc["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    assert "sysctl" not in spec.build(_process("", ""), spec.Settings("h"), user={}, etc={}, cgroups_path="x")["linux"]
