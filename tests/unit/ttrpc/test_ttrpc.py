"""ttrpc framing, server and client over a real unix socket."""

import os
import socket
import struct

import pytest
from pyrunc_proto.containerd.ttrpc import request_pb2
from pyrunc_ttrpc import frames
from pyrunc_ttrpc.client import Client, connect
from pyrunc_ttrpc.status import Code, TtrpcError


def test_header_is_ten_big_endian_bytes():
    data = frames.pack(7, frames.FrameType.REQUEST, b"abc", flags=4)
    assert data == struct.pack(">IIBB", 3, 7, 1, 4) + b"abc"
    assert frames.HEADER.size == 10


def test_reader_reassembles_frames_split_anywhere():
    stream = frames.pack(1, frames.FrameType.REQUEST, b"x" * 100) + frames.pack(3, frames.FrameType.RESPONSE, b"")
    reader = frames.FrameReader()
    got = []
    for i in range(0, len(stream), 7):
        got += reader.feed(stream[i:i + 7])
    assert got == [(1, 1, 0, b"x" * 100), (3, 2, 0, b"")]


def test_oversized_frames_are_refused():
    with pytest.raises(frames.FrameError, match="exceeds"):
        frames.FrameReader().feed(struct.pack(">IIBB", frames.MAX_LENGTH + 1, 1, 1, 0))
    with pytest.raises(frames.FrameError, match="payload length"):
        frames.pack(1, frames.FrameType.REQUEST, b"x" * (frames.MAX_LENGTH + 1))


def test_unary_calls_errors_and_metadata(server):
    client = Client(connect(server.path))
    assert client.call("t.S", "Echo", b"hello") == b"hello"
    assert client.call("t.S", "Meta", b"", {"k": "v"}) == b"v"
    with pytest.raises(TtrpcError) as e:
        client.call("t.S", "Fail", b"")
    assert (e.value.code, e.value.message) == (Code.NOT_FOUND, "no such thing")
    with pytest.raises(TtrpcError) as e:
        client.call("t.S", "Crash", b"")
    assert e.value.code == Code.UNKNOWN and "bug" in e.value.message
    with pytest.raises(TtrpcError) as e:
        client.call("t.S", "Nope", b"")
    assert e.value.code == Code.UNIMPLEMENTED
    client.close()


def test_deferred_reply_arrives_after_later_calls_on_the_same_connection(server):
    sock = connect(server.path)
    for stream, method, payload in ((1, "Later", b"a"), (3, "Release", b"")):
        req = request_pb2.Request(service="t.S", method=method, payload=payload)
        sock.sendall(frames.pack(stream, frames.FrameType.REQUEST, req.SerializeToString()))
    got = {}
    for _ in range(2):
        sid, ftype, _, data = frames.read_frame(sock)
        assert ftype == frames.FrameType.RESPONSE
        got[sid] = request_pb2.Response.FromString(data).payload
    assert got == {1: b"late:a", 3: b"released"}
    sock.close()


def test_connect_understands_containerd_address_forms(server, tmp_path):
    Client(connect("unix://" + server.path)).close()
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = f"pyrunc-shim-test-{os.getpid()}"
    abstract.bind("\0" + name)
    abstract.listen()
    try:
        connect("unix://@" + name).close()
    finally:
        abstract.close()


def test_an_oversized_response_fails_that_call_and_the_server_goes_on(server):
    client = Client(connect(server.path))
    with pytest.raises(TtrpcError) as e:
        client.call("t.S", "Huge", b"")
    assert e.value.code == Code.RESOURCE_EXHAUSTED and "exceeds maximum message size" in e.value.message
    assert client.call("t.S", "Echo", b"still here") == b"still here"
    client.close()
