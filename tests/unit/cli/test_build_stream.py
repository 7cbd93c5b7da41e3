"""The HTTP/2 client's calls whose requests stream (api/h2grpc.py) and the build messages it carries
(pyrunc_proto.wire's): against a real grpcio server, past its flow-control windows; an early status while
the client still sends; cancel() reaching the server's handler; the options as build_pb2 reads them."""

import asyncio
import socket
import struct
import threading

import grpc
import pytest
from pyctl.api import Api, ApiError, h2grpc
from pyrunc_proto.pyrunc.build.v1 import build_pb2 as pb
from pyrunc_proto.pyrunc.build.v1 import build_pb2_grpc

from tests.unit.cli.grpc_server import serving


class Builds(build_pb2_grpc.BuildServicer):
    """Build: the options' first tag says what to do; the context's size comes back as a status."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.options: list[pb.BuildOptions] = []

    async def Build(self, request_iterator, context):
        first = await anext(aiter(request_iterator))
        self.options.append(first.options)
        mode = first.options.tags[0]
        if mode == "refuse":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "refused before reading the context")
        if mode == "built":
            async for _ in request_iterator:
                pass
            yield pb.BuildProgress(image_id="sha256:" + "c" * 64)
            return
        size = 0
        async for request in request_iterator:
            size += len(request.context)
        yield pb.BuildProgress(status=str(size))
        if mode == "hang":
            try:  # cancelled at the await, or closed at the yield
                yield pb.BuildProgress(output=b"\x00" * 300_000)
                await asyncio.sleep(60)
            finally:
                self.cancelled.set()
        yield pb.BuildProgress(output=b"\x00" * 300_000)
        yield pb.BuildProgress(alive=12.5)
        yield pb.BuildProgress(failure=pb.Failure(message="The command returned a non-zero code: 3", code=3))
        yield pb.BuildProgress(image_id="sha256:" + "a" * 64)

    async def Prune(self, request, context):
        return pb.PruneResponse(entries=2, deleted=["sha256:" + "b" * 64], space_reclaimed=1 << 40)


@pytest.fixture
def server(tmp_path):
    """A grpcio server on a unix socket: (socket path, its Builds servicer)."""
    sock, builds = tmp_path / "s.sock", Builds()
    options = (("grpc.max_receive_message_length", 16 << 20),)
    with serving(sock, lambda server: build_pb2_grpc.add_BuildServicer_to_server(builds, server), options):
        yield str(sock), builds


def chunks(total: int, size: int = 1 << 20):
    for start in range(0, total, size):
        yield bytes([start // size % 256]) * min(size, total - start)


def test_a_context_streams_past_the_windows_and_every_event_comes_back(server):
    path, _ = server
    api = Api(path)
    try:
        stream = api.build.build({"tags": ["ok"]}, chunks(40 << 20))
        events = [(reply.WhichOneof("event"), reply) for reply in stream]
        assert [kind for kind, _ in events] == ["status", "output", "alive", "failure", "image_id"]
        assert events[0][1].status == str(40 << 20) and events[1][1].output == b"\x00" * 300_000
        assert events[2][1].alive == 12.5
        assert (events[3][1].failure.message, events[3][1].failure.code) == ("The command returned a non-zero code: 3", 3)
        reply = api.build.prune()  # the same connection, after the streaming call
        assert (reply.entries, reply.deleted, reply.space_reclaimed) == (2, ["sha256:" + "b" * 64], 1 << 40)
    finally:
        api.close()


def test_a_status_before_the_context_is_read_ends_the_sending(server):
    path, _ = server
    api = Api(path)
    try:
        with pytest.raises(ApiError) as e:
            list(api.build.build({"tags": ["refuse"]}, chunks(200 << 20)))
        assert (e.value.code, e.value.message) == ("INVALID_ARGUMENT", "refused before reading the context")
        assert api.build.prune().entries == 2  # the connection is still good
    finally:
        api.close()


def test_cancel_reaches_the_handler_and_the_api_goes_on(server):
    path, builds = server
    api = Api(path)
    try:
        stream = api.build.build({"tags": ["hang"]}, chunks(3 << 20))
        assert next(stream).status == str(3 << 20)
        stream.cancel()
        assert builds.cancelled.wait(10)
        with pytest.raises(ApiError) as e:
            next(stream)
        assert e.value.code == "CANCELLED"
        assert api.build.prune().entries == 2  # a new connection
    finally:
        api.close()


def test_the_requests_failure_cancels_the_call(server):
    path, builds = server
    api = Api(path)

    def failing():
        yield b"x" * 100_000
        raise RuntimeError("error checking context")

    try:
        with pytest.raises(RuntimeError):
            next(api.build.build({"tags": ["ok"]}, failing()))
        assert api.build.prune().entries == 2
    finally:
        api.close()


def test_build_loads_neither_grpc_nor_protobuf(server, tmp_path):
    """`pyctl build`: grpcio and google.protobuf would be most of a cached build's time."""
    import subprocess
    import sys

    path, _ = server
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM busybox\n")
    probe = ("import sys\n"
             "from pyctl.main import main\n"
             f"code = main(['-H', 'unix://{path}', 'build', '-q', '-t', 'built', '{tmp_path / 'ctx'}'])\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google'))\n"
             "print(code, heavy, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert r.stderr.decode().splitlines()[-1] == "0 []"
    assert r.stdout == b"sha256:" + b"c" * 64 + b"\n"


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def read_frame(f):
    head = f.read(9)
    return head[3], head[4], int.from_bytes(head[5:9], "big"), f.read(int.from_bytes(head[:3], "big"))


def test_data_frames_keep_to_the_peers_windows_and_frame_size():
    """A peer with a 1000-byte stream window and 300-byte frames: the client sends no more than it is given,
    and waits for WINDOW_UPDATE to send the rest."""
    ours, theirs = socket.socketpair()
    channel = h2grpc.Channel("unused")
    channel.sock = ours
    received: list[int] = []
    failure: list[str] = []

    def peer():
        f = theirs.makefile("rb")
        theirs.sendall(frame(h2grpc.SETTINGS, 0, 0, struct.pack(">HIHI", 4, 1000, 5, 300)))
        window = 1000
        while True:
            kind, flags, stream, payload = read_frame(f)
            if kind == h2grpc.DATA:
                if len(payload) > 300 or len(payload) > window:
                    failure.append(f"{len(payload)} bytes with a window of {window}")
                window -= len(payload)
                received.append(len(payload))
                if flags & h2grpc.END_STREAM:
                    break
                if window == 0:
                    window = 700
                    theirs.sendall(frame(h2grpc.WINDOW_UPDATE, 0, stream, struct.pack(">I", 700)))
        trailers = h2grpc.encode_headers([(":status", "200"), ("grpc-status", "0")])
        theirs.sendall(frame(h2grpc.HEADERS, h2grpc.END_HEADERS | h2grpc.END_STREAM, stream, trailers))

    t = threading.Thread(target=peer, daemon=True)
    t.start()
    try:
        channel.pump(block=True)  # the peer's SETTINGS, taken before the call as a connection's first frame
        assert list(channel.stream("/s/M", [b"a" * 2000, b"b" * 1500])) == []
        t.join(10)
        assert not failure and sum(received) == 2000 + 1500 + 2 * 5 and max(received) <= 300
    finally:
        channel.close()
        theirs.close()


def test_headers_of_a_call_left_unread_still_reach_the_hpack_table():
    """The peer ends call 1 (read up to its message, then left) only after call 2 began, with trailers that
    add an entry to the HPACK table; call 2's headers use that entry."""
    ours, theirs = socket.socketpair()
    channel = h2grpc.Channel("unused")
    channel.sock = ours
    indexed = bytes([0x40, 5]) + b"x-one" + bytes([3]) + b"two"  # a literal that enters the table as 62

    def peer():
        f = theirs.makefile("rb")
        streams = []
        while len(streams) < 2:
            kind, flags, stream, _ = read_frame(f)
            if kind == h2grpc.HEADERS:
                streams.append(stream)
                if len(streams) == 1:
                    head = h2grpc.encode_headers([(":status", "200")])
                    theirs.sendall(frame(h2grpc.HEADERS, h2grpc.END_HEADERS, stream, head)
                                   + frame(h2grpc.DATA, 0, stream, b"\x00\x00\x00\x00\x01A"))
        first, second = streams
        theirs.sendall(frame(h2grpc.HEADERS, h2grpc.END_HEADERS | h2grpc.END_STREAM, first,
                             indexed + h2grpc.encode_headers([("grpc-status", "0")]))
                       + frame(h2grpc.HEADERS, h2grpc.END_HEADERS, second,
                               h2grpc.encode_headers([(":status", "200")]) + bytes([0x80 | 62]))
                       + frame(h2grpc.DATA, 0, second, b"\x00\x00\x00\x00\x01B")
                       + frame(h2grpc.HEADERS, h2grpc.END_HEADERS | h2grpc.END_STREAM, second,
                               h2grpc.encode_headers([("grpc-status", "0")])))

    t = threading.Thread(target=peer, daemon=True)
    t.start()
    try:
        assert next(iter(channel.call("/s/One", b""))) == b"A"
        assert list(channel.call("/s/Two", b"")) == [b"B"]
        t.join(10)
    finally:
        channel.close()
        theirs.close()


def test_the_options_arrive_as_build_proto_has_them(server):
    """Every field of BuildOptions as build_pb2 reads it; dockerfile_content present when given, even empty
    (`-f -` with an empty Dockerfile: the daemon builds from it, not from the context), absent when not."""
    path, builds = server
    options = {"tags": ["built", "b"], "dockerfile": "sub/Dockerfile", "dockerfile_content": b"",
               "build_args": {"K": "V", "E": ""}, "target": "t", "no_cache": True, "pull": True, "network": "none",
               "labels": {"l": "v"}, "secrets": {"s": b"\x00\xff"}, "platform": "linux/arm64"}
    api = Api(path)
    try:
        assert [reply.image_id for reply in api.build.build(options, [b"tar"])] == ["sha256:" + "c" * 64]
        assert [reply.image_id for reply in api.build.build({"tags": ["built"]}, [])] == ["sha256:" + "c" * 64]
    finally:
        api.close()
    written, bare = builds.options
    assert written.HasField("dockerfile_content") and not bare.HasField("dockerfile_content")
    assert {f.name for f in pb.BuildOptions.DESCRIPTOR.fields} == options.keys()
    for name, value in options.items():
        got = getattr(written, name)
        assert (list(got) if name == "tags" else dict(got) if isinstance(value, dict) else got) == value, name
