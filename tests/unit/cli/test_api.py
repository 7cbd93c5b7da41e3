"""pyctl's API facade: its HTTP/2 client's HPACK follows the RFCs' own examples; both of its transports talk
to a real grpcio server and fail with the one ApiError; `pyctl run` stays off grpcio (the HTTP/2 client's
messages are pyrunc_proto.wire's: tests/unit/proto)."""

import pytest
from pyctl.api import Api, ApiError, hpack
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb

from tests.unit.cli.grpc_server import serving


def test_hpack_rfc7541_examples():
    # C.4.1: "www.example.com" Huffman-coded
    assert hpack.huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    # C.3: three requests without Huffman, sharing the dynamic table
    d = hpack.Decoder()
    assert d.decode(bytes.fromhex("828684410f7777772e6578616d706c652e636f6d")) == [
        (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")]
    assert d.decode(bytes.fromhex("828684be58086e6f2d6361636865")) == [
        (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"),
        ("cache-control", "no-cache")]
    # C.6.1: a response with Huffman and evictions from a 256-byte table
    d = hpack.Decoder()
    d.max_size = 256
    assert d.decode(bytes.fromhex(
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"
    )) == [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
           ("location", "https://www.example.com")]
    assert hpack.Decoder().decode(hpack.encode_headers([("te", "trailers")])) == [("te", "trailers")]


@pytest.fixture
def daemon(tmp_path):
    """A grpcio server on a unix socket with a few containers and images calls: its socket path."""

    import grpc
    from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc
    from pyrunc_proto.pyrunc.images.v1 import images_pb2, images_pb2_grpc

    class Containers(containers_pb2_grpc.ContainersServicer):
        async def Create(self, request, context):
            if request.config.image == "bad":
                await context.abort(grpc.StatusCode.NOT_FOUND, "No such image: bad — 100%")
            return pb.CreateResponse(id=request.config.image + str(len(request.config.env)))

        async def StartAttached(self, request, context):
            for i in range(3):
                yield pb.ExecOutput(stream="stdout", data=bytes([i]) * 100_000)
            yield pb.ExecOutput(exited=True, exit_code=3)

    class Images(images_pb2_grpc.ImagesServicer):
        async def Get(self, request, context):
            if request.reference != "busybox":
                await context.abort(grpc.StatusCode.NOT_FOUND, f"No such image: {request.reference}")
            return images_pb2.Image(id="sha256:" + "a" * 64, repo_tags=["busybox:latest"])

    def add(server):
        containers_pb2_grpc.add_ContainersServicer_to_server(Containers(), server)
        images_pb2_grpc.add_ImagesServicer_to_server(Images(), server)

    sock = tmp_path / "s.sock"
    with serving(sock, add):
        yield sock


def test_calls_over_both_transports_and_one_error_type(daemon, tmp_path):
    """The HTTP/2 client (containers: unary, server streaming, past the peer's first window, an error
    status with a percent-encoded message) and grpcio (images) behind one facade and one error type."""
    api = Api(str(daemon))
    try:
        big_env = [f"V{i}=" + "x" * 100 for i in range(1000)]  # ~100 KB: past the peer's first window
        assert api.containers.create({"image": "img", "env": big_env}) == "img1000"
        with pytest.raises(ApiError) as e:
            api.containers.create({"image": "bad"})
        assert (e.value.code, e.value.message) == ("NOT_FOUND", "No such image: bad — 100%")
        outs = list(api.containers.start_attached("x"))
        assert [len(o.data) for o in outs] == [100_000] * 3 + [0] and outs[-1].exit_code == 3
        assert api.images.get("busybox").repo_tags == ["busybox:latest"]
        with pytest.raises(ApiError) as e:
            api.images.get("nope")
        assert (e.value.code, e.value.message) == ("NOT_FOUND", "No such image: nope")
    finally:
        api.close()
    for call in (lambda a: a.containers.create({}), lambda a: a.images.get("busybox")):
        down = Api(str(tmp_path / "none.sock"))
        with pytest.raises(ApiError) as e:
            call(down)
        down.close()
        assert e.value.code == "UNAVAILABLE" and e.value.cannot_connect()


def test_run_without_a_terminal_loads_neither_grpc_nor_protobuf(daemon):
    """`pyctl run` (no -i/-t) is the short path: grpcio and google.protobuf would be most of its time."""
    import subprocess
    import sys

    probe = ("import sys\n"
             "from pyctl.main import main\n"
             f"code = main(['-H', 'unix://{daemon}', 'run', '--rm', 'img', 'true'])\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('grpc', 'google'))\n"
             "print(code, heavy, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert r.stderr.decode().splitlines()[-1] == "3 []"
    assert r.stdout == b"".join(bytes([i]) * 100_000 for i in range(3))
