"""pyctl's lite client: its HTTP/2 and HPACK pieces follow the RFCs' own examples, and it talks to a
real grpcio server (its messages are pyrunc_proto.wire's: tests/unit/proto)."""

import pytest
from pyctl import h2grpc, lite
from pyrunc_proto.pyrunc.containers.v1 import containers_pb2 as pb


def test_hpack_rfc7541_examples():
    # C.4.1: "www.example.com" Huffman-coded
    assert h2grpc.huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    # C.3: three requests without Huffman, sharing the dynamic table
    d = h2grpc.Decoder()
    assert d.decode(bytes.fromhex("828684410f7777772e6578616d706c652e636f6d")) == [
        (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")]
    assert d.decode(bytes.fromhex("828684be58086e6f2d6361636865")) == [
        (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"),
        ("cache-control", "no-cache")]
    # C.6.1: a response with Huffman and evictions from a 256-byte table
    d = h2grpc.Decoder()
    d.max_size = 256
    assert d.decode(bytes.fromhex(
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3"
    )) == [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
           ("location", "https://www.example.com")]
    assert h2grpc.Decoder().decode(h2grpc.encode_headers([("te", "trailers")])) == [("te", "trailers")]


def test_calls_to_a_grpcio_server(tmp_path):
    """Unary, server streaming, an error status with a percent-encoded message, big messages."""
    import asyncio
    import threading

    import grpc
    from pyrunc_proto.pyrunc.containers.v1 import containers_pb2_grpc

    class Servicer(containers_pb2_grpc.ContainersServicer):
        async def Create(self, request, context):
            if request.config.image == "bad":
                await context.abort(grpc.StatusCode.NOT_FOUND, "No such image: bad — 100%")
            return pb.CreateResponse(id=request.config.image + str(len(request.config.env)))

        async def StartAttached(self, request, context):
            for i in range(3):
                yield pb.ExecOutput(stream="stdout", data=bytes([i]) * 100_000)
            yield pb.ExecOutput(exited=True, exit_code=3)

    sock = tmp_path / "s.sock"
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = None

    async def serve():
        nonlocal stop
        server = grpc.aio.server()
        containers_pb2_grpc.add_ContainersServicer_to_server(Servicer(), server)
        server.add_insecure_port(f"unix:{sock}")
        await server.start()
        stop = asyncio.Event()
        started.set()
        await stop.wait()
        await server.stop(None)

    t = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    t.start()
    started.wait(10)
    try:
        stub = lite.Stub(h2grpc.Channel(str(sock)))
        big_env = [f"V{i}=" + "x" * 100 for i in range(1000)]  # ~100 KB: past the peer's first window
        assert stub.Create(lite.CreateRequest(config=lite.ContainerConfig(image="img", env=big_env))).id == "img1000"
        with pytest.raises(h2grpc.RpcError) as e:
            stub.Create(lite.CreateRequest(config=lite.ContainerConfig(image="bad")))
        assert e.value.code().name == "NOT_FOUND" and e.value.details() == "No such image: bad — 100%"
        outs = list(stub.StartAttached(lite.ContainerRef(id="x")))
        assert [len(o.data) for o in outs] == [100_000] * 3 + [0] and outs[-1].exit_code == 3
        stub.channel.close()
        with pytest.raises(h2grpc.RpcError) as e:
            lite.Stub(h2grpc.Channel(str(tmp_path / "none.sock"))).Create(lite.CreateRequest())
        assert e.value.code().name == "UNAVAILABLE"
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(10)
