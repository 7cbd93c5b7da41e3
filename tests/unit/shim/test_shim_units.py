"""The shim's pure pieces: flags, addresses, options, events, exit codes."""

import os
import signal

import pytest
from google.protobuf import any_pb2
from pyrunc_proto import wire
from pyrunc_proto.containerd.events import task_pb2 as events
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtimeoptions.v1 import api_pb2
from pyrunc_proto.containerd.services.ttrpc.events.v1 import events_pb2
from pyrunc_shim.events import envelope
from pyrunc_shim.main import new_socket_address, parse_flags
from pyrunc_shim.options import parse_flat_toml, parse_options
from pyrunc_shim.reaper import exit_code
from pyrunc_shim.runc import default_root
from pyrunc_ttrpc.status import TtrpcError


def test_go_style_flags_as_containerd_passes_them():
    f = parse_flags(["-namespace", "ns", "-address", "/run/c.sock", "-publish-binary", "/usr/bin/containerd",
                     "-id", "c1", "-debug", "start"])
    assert (f.namespace, f.address, f.publish_binary, f.id, f.debug, f.action) == (
        "ns", "/run/c.sock", "/usr/bin/containerd", "c1", True, "start")
    f = parse_flags(["--namespace=ns", "-id=c2", "-bundle", "/b", "delete"])
    assert (f.namespace, f.id, f.bundle, f.action) == ("ns", "c2", "/b", "delete")
    assert parse_flags(["-v"]).version
    with pytest.raises(SystemExit, match="not defined: -bogus"):
        parse_flags(["-bogus", "start"])
    with pytest.raises(SystemExit, match="needs a value"):
        parse_flags(["-id"])


def test_socket_addresses_are_unique_and_fit_sun_path():
    a = new_socket_address()
    assert a != new_socket_address()
    assert a.startswith("unix:///") and len(a.removeprefix("unix://")) < 108


def _any(url, msg):
    return any_pb2.Any(type_url=url, value=msg.SerializeToString())


def test_runc_options_select_binary_and_root():
    opts = _any("containerd.runc.v1.Options", oci_pb2.Options(binary_name="/usr/sbin/runc", root="/r"))
    assert parse_options(opts.SerializeToString()) == {"binary_name": "/usr/sbin/runc", "root": "/r",
                                   "no_pivot_root": False, "no_new_keyring": False}
    assert parse_options(opts.SerializeToString())["binary_name"] == "/usr/sbin/runc"


def test_runtime_config_path_is_read_as_toml(tmp_path):
    conf = tmp_path / "rt.toml"
    conf.write_text('BinaryName = "/usr/sbin/runc"\nNoPivotRoot = true\n')
    opts = _any("runtimeoptions.v1.Options", api_pb2.Options(config_path=str(conf)))
    assert parse_options(opts.SerializeToString())["binary_name"] == "/usr/sbin/runc"
    assert parse_options(opts.SerializeToString())["no_pivot_root"] is True
    cached = {str(conf): {"binary_name": "from-start"}}
    assert parse_options(opts.SerializeToString(), cached) == {"binary_name": "from-start"}
    bad = _any("runtimeoptions.v1.Options", api_pb2.Options(config_path=str(tmp_path / "missing")))
    with pytest.raises(TtrpcError, match="runtime config path"):
        parse_options(bad.SerializeToString())


@pytest.mark.parametrize("text", [
    'BinaryName = "/usr/sbin/runc"\n', '# c\n\n  Root="/r" # c\nNoPivotRoot = true\nNoNewKeyring=false#x',
    'BinaryName = ""', 'a-b_9 = "x#=y"\n',
])
def test_flat_toml_reads_as_tomllib_does(text):
    import tomllib

    assert parse_flat_toml(text.encode()) == tomllib.loads(text)


@pytest.mark.parametrize("text", [
    '[t]\nA = "x"', 'A = "x"\nA = "y"', 'A = "\\t"', 'A = 1', "A = 'x'", 'a.b = "x"', '"A" = "x"',
    'A = "x" y', 'A = truex', 'A = """x"""', 'A = "x"\r\n', 'A = "\x01"', 'A = "é"', 'A = "x', 'A',
])
def test_flat_toml_leaves_everything_else_to_tomllib(text):
    assert parse_flat_toml(text.encode()) is None


def test_unknown_or_absent_options_mean_defaults():
    assert parse_options(b"") == {}
    assert parse_options(_any("example.Other", oci_pb2.ProcessDetails(exec_id="x")).SerializeToString()) == {}


def test_each_runtime_binary_gets_its_own_root_per_namespace():
    assert default_root("/usr/sbin/runc", "", "ns") == "/run/containerd/runc/ns"
    assert default_root("/venv/bin/pyrunc", "", "ns") == "/run/containerd/pyrunc/ns"
    assert default_root("/usr/sbin/runc", "/custom", "ns") == "/custom/ns"


def test_event_envelope_uses_containerd_type_urls_and_topics():
    data = envelope("ns", wire.pack("containerd.events.TaskExit", container_id="c1", id="c1", pid=42, exit_status=3))
    env = events_pb2.ForwardRequest.FromString(data).envelope
    assert (env.namespace, env.topic, env.event.type_url) == ("ns", "/tasks/exit", "containerd.events.TaskExit")
    assert events.TaskExit.FromString(env.event.value).exit_status == 3
    assert env.timestamp.seconds > 0


def test_exit_codes_follow_containerd_convention():
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert exit_code(os.waitpid(pid, 0)[1]) == 3
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), signal.SIGKILL)
    assert exit_code(os.waitpid(pid, 0)[1]) == 137
