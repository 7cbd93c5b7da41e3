"""pyrunc_proto.wire agrees with google.protobuf byte for byte on the messages of the shim and of
`pyctl run`, from tables generated off the current protos."""

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import any_pb2, timestamp_pb2
from pyrunc_proto import wire
from pyrunc_proto.containerd.cgroups.v1 import metrics_pb2
from pyrunc_proto.containerd.events import task_pb2 as events
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_proto.containerd.ttrpc import request_pb2
from pyrunc_proto.containerd.types import mount_pb2
from pyrunc_proto.containerd.types.task import task_pb2 as types
from pyrunc_proto.pyrunc.build.v1 import build_pb2 as build
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb

REPO = Path(__file__).resolve().parents[3]


def test_tables_are_generated_from_the_current_protos():
    r = subprocess.run([sys.executable, str(REPO / "proto" / "generate.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_decode_what_protobuf_encodes():
    req = api.CreateTaskRequest(
        id="c1", bundle="/b", terminal=True, stdin="/in", stdout="/out",
        rootfs=[mount_pb2.Mount(type="overlay", source="overlay", options=["lowerdir=/l", "upperdir=/u"])],
        options=any_pb2.Any(type_url="containerd.runc.v1.Options", value=b"\x32\x04runc"))
    got = wire.decode("containerd.task.v2.CreateTaskRequest", req.SerializeToString())
    assert (got.id, got.bundle, got.terminal, got.stdin, got.stdout, got.stderr) == ("c1", "/b", True, "/in", "/out", "")
    assert got.rootfs[0].options == ["lowerdir=/l", "upperdir=/u"] and got.rootfs[0].target == ""
    assert (got.options.type_url, got.options.value) == ("containerd.runc.v1.Options", b"\x32\x04runc")
    assert got.checkpoint == "" and got.parent_checkpoint == ""


def test_absent_fields_take_proto3_defaults():
    got = wire.decode("containerd.task.v2.StateResponse", b"")
    assert (got.id, got.pid, got.terminal, got.exited_at) == ("", 0, False, None)
    assert wire.decode("containerd.task.v2.PidsResponse", b"").processes == []


@pytest.mark.parametrize("type_name, fields, pb", [
    ("containerd.task.v2.StateResponse",
     {"id": "c1", "pid": 42, "status": 3, "exit_status": 137, "terminal": True,
      "exited_at": wire.timestamp(1_700_000_000_123_456_789), "exec_id": "e"},
     api.StateResponse),
    ("containerd.task.v2.PidsResponse",
     {"processes": [{"pid": 1}, {"pid": 2, "info": wire.pack("containerd.runc.v1.ProcessDetails", exec_id="e1")}]},
     api.PidsResponse),
    ("containerd.task.v2.WaitResponse", {"exit_status": 0, "exited_at": wire.timestamp(5)}, api.WaitResponse),
    ("containerd.events.TaskCreate",
     {"container_id": "c", "rootfs": [{"type": "overlay", "options": ["a", "b"]}],
      "io": {"stdout": "/o", "terminal": True}, "pid": 7}, events.TaskCreate),
    ("ttrpc.Request", {"service": "s", "method": "m", "payload": b"\x00\x01", "timeout_nano": -1,
                       "metadata": [{"key": "k", "value": "v"}]}, request_pb2.Request),
    ("ttrpc.Response", {"status": {"code": 5, "message": "gone"}}, request_pb2.Response),
    ("containerd.v1.types.ProcessInfo", {"pid": 2**32 - 1}, types.ProcessInfo),
    ("io.containerd.cgroups.v1.Metrics",
     {"pids": {"current": 3}, "cpu": {"usage": {"total": 10**12, "per_cpu": [1, 300, 2**40]}},
      "memory": {"rss": 4096, "usage": {"limit": 2**63 - 4096}}}, metrics_pb2.Metrics),
    ("pyrunc.build.v1.BuildOptions", {"build_args": {"E": ""}, "secrets": {"": b""}, "dockerfile_content": b""},
     build.BuildOptions),  # map entries and fields with presence written even when empty
])
def test_encode_matches_protobuf(type_name, fields, pb):
    ours = wire.encode(type_name, **fields)
    theirs = pb.FromString(ours)
    assert theirs.SerializeToString() == ours  # canonical: same bytes protobuf would write
    assert wire.decode(type_name, theirs.SerializeToString()) == wire.decode(type_name, ours)


def test_timestamps_and_any_match_protobuf():
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(1_700_000_000_123_456_789)
    assert wire.encode("google.protobuf.Timestamp", wire.timestamp(1_700_000_000_123_456_789)) == ts.SerializeToString()
    packed = wire.pack("containerd.events.TaskExit", container_id="c", exit_status=3)
    assert packed["type_url"] == "containerd.events.TaskExit"
    assert events.TaskExit.FromString(packed["value"]).exit_status == 3


def test_unpacked_repeated_scalars_are_read_too():
    data = b"\x20\x01\x20\x02"  # CPUUsage.per_cpu written one by one (proto2 style)
    assert wire.decode("io.containerd.cgroups.v1.CPUUsage", data).per_cpu == [1, 2]


def test_unknown_fields_are_skipped_and_bad_input_is_refused():
    data = api.StartRequest(id="c").SerializeToString() + b"\x98\x06\x01"  # field 99, varint
    assert wire.decode("containerd.task.v2.StartRequest", data).id == "c"
    with pytest.raises(wire.WireError):
        wire.decode("containerd.task.v2.StartRequest", b"\x0a\x05ab")
    with pytest.raises(wire.WireError, match="no field 'bogus'"):
        wire.encode("containerd.task.v2.StartRequest", bogus=1)
    with pytest.raises(wire.WireError, match="no field 'no_such_field'"):
        wire.Message("pyrunc.containers.v1.ContainerConfig", no_such_field=1)
    with pytest.raises(wire.WireError, match="not length-delimited"):  # rootfs (3), a message, as a varint
        wire.decode("containerd.task.v2.CreateTaskRequest", b"\x18\x01")


def test_the_message_types_are_for_the_type_checker_only():
    """messages.pyi is a stub with no module behind it: wire's typing costs nothing at run time."""
    assert (REPO / "proto" / "src" / "pyrunc_proto" / "messages.pyi").is_file()
    with pytest.raises(ModuleNotFoundError):
        import pyrunc_proto.messages  # noqa: F401
    assert (wire.decode, wire.encode, wire.pack) == (wire._decode, wire._encode_message, wire._pack)


def test_pb2_style_messages_maps_and_signed_ints_match_protobuf():
    kw = dict(image="busybox", name="n", cmd=["sh", "-c", ""], env=["A=1"], labels={"k": "v", "e": ""},
              tty=False, open_stdin=True, auto_remove=True)
    mine = wire.Message("pyrunc.containers.v1.ContainerConfig", **kw)
    mine.entrypoint_set = True
    mine.entrypoint.extend(["/bin/x"])
    theirs = pb.ContainerConfig(**kw, entrypoint_set=True, entrypoint=["/bin/x"])
    req = wire.Message("pyrunc.containers.v1.CreateRequest", config=mine)
    assert pb.CreateRequest.FromString(req.SerializeToString()) == pb.CreateRequest(config=theirs)
    out = pb.ExecOutput(stream="stderr", data=b"\x00\xff", exited=True, exit_code=-1).SerializeToString()
    got = wire.decode("pyrunc.containers.v1.ExecOutput", out)
    assert (got.stream, got.data, got.exited, got.exit_code) == ("stderr", b"\x00\xff", True, -1)
    c = wire.decode("pyrunc.containers.v1.Container", pb.Container(id="x", pid=7, labels={"a": "b"}).SerializeToString())
    assert (c.id, c.pid, c.labels, c.name) == ("x", 7, {"a": "b"}, "")


@pytest.mark.parametrize("field", [f.name for f in build.BuildProgress.DESCRIPTOR.fields])
def test_a_oneofs_member_is_read_and_written_as_protobuf_does_even_at_its_default(field):
    values = {"failure": build.Failure(message="m", code=-2), "alive": 1.5, "output": b"\xff"}
    defaults = {"failure": build.Failure(), "alive": 0.0, "output": b""}
    for value in (values.get(field, "x"), defaults.get(field, "")):
        data = build.BuildProgress(**{field: value}).SerializeToString()
        got = wire.decode("pyrunc.build.v1.BuildProgress", data)
        assert got.WhichOneof("event") == field
        read = getattr(got, field)
        assert ((read.message, read.code) if field == "failure" else read) == (
            (value.message, value.code) if field == "failure" else value)
        assert got.SerializeToString() == data


def test_a_oneof_keeps_one_member_and_optional_fields_their_presence():
    empty = wire.decode("pyrunc.build.v1.BuildProgress", b"")
    assert empty.WhichOneof("event") is None and empty.failure is None and empty.step == ""
    two = build.BuildProgress(step="s").SerializeToString() + build.BuildProgress(alive=2.0).SerializeToString()
    got = wire.decode("pyrunc.build.v1.BuildProgress", two)  # the last one read is the one set, as protobuf
    assert (got.WhichOneof("event"), got.step, got.alive) == ("alive", "", 2.0)
    got.failure = wire.Message("pyrunc.build.v1.Failure", message="f")
    assert (got.WhichOneof("event"), got.alive) == ("failure", 0.0)
    assert build.BuildProgress.FromString(got.SerializeToString()).failure.message == "f"
    with pytest.raises(ValueError, match='no "events" oneof'):
        got.WhichOneof("events")
    for options, present in (({}, False), ({"dockerfile_content": b""}, True), ({"dockerfile_content": b"F"}, True)):
        data = wire.encode("pyrunc.build.v1.BuildRequest", options=options)
        assert build.BuildRequest.FromString(data).options.HasField("dockerfile_content") is present
        msg = wire.Message("pyrunc.build.v1.BuildOptions", **options)
        assert build.BuildOptions.FromString(msg.SerializeToString()).HasField("dockerfile_content") is present
        assert wire.decode("pyrunc.build.v1.BuildOptions", msg.SerializeToString()) == msg
    msg = wire.Message("pyrunc.build.v1.BuildOptions")
    msg.dockerfile_content = b""
    assert build.BuildOptions.FromString(msg.SerializeToString()).HasField("dockerfile_content")
    assert build.BuildOptions.FromString(wire.encode("pyrunc.build.v1.BuildOptions", msg, tags=["t"])).HasField(
        "dockerfile_content")
    msg.dockerfile_content = None
    assert msg.WhichOneof("_dockerfile_content") is None and msg.SerializeToString() == b""
