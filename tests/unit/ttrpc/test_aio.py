"""The asyncio client against the package's own server, in-process: one connection, many calls."""

import asyncio
import os
import socket

import pytest
from pyrunc_ttrpc import aio, frames
from pyrunc_ttrpc.status import Code, TtrpcError


def run(coro, timeout: float = 10):
    async def bounded():
        async with asyncio.timeout(timeout):  # a bug here must fail the test, not hang it
            return await coro

    return asyncio.run(bounded())


async def until(predicate, timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


def test_unary_calls_errors_and_metadata(server):
    async def main():
        async with await aio.connect(server.path) as client:
            assert await client.call("t.S", "Echo", b"hello") == b"hello"
            assert await client.call("t.S", "Meta", b"", {"k": "v"}) == b"v"
            with pytest.raises(TtrpcError) as e:
                await client.call("t.S", "Fail", b"")
            assert (e.value.code, e.value.message) == (Code.NOT_FOUND, "no such thing")
            with pytest.raises(TtrpcError) as e:
                await client.call("t.S", "Crash", b"")
            assert e.value.code == Code.UNKNOWN and "bug" in e.value.message
            with pytest.raises(TtrpcError) as e:
                await client.call("t.S", "Nope", b"")
            assert e.value.code == Code.UNIMPLEMENTED
        assert client.closed

    run(main())


def test_concurrent_calls_answered_out_of_order_meet_their_callers(server):
    async def main():
        async with await aio.connect(server.path) as client:
            later = [asyncio.create_task(client.call("t.S", "Later", p)) for p in (b"a", b"b", b"c")]
            await until(lambda: len(server.later) == 3)
            # the deferred calls hold nothing up: others come and go beside them
            assert await client.call("t.S", "Echo", b"beside") == b"beside"
            assert not any(t.done() for t in later)
            finished = []
            for t in later:
                t.add_done_callback(lambda t: finished.append(t.result()))
            assert await client.call("t.S", "Release", b"") == b"released"  # answers c, b, a, then itself
            assert await asyncio.gather(*later) == [b"late:a", b"late:b", b"late:c"]
            assert finished == [b"late:c", b"late:b", b"late:a"]

    run(main())


def test_a_server_that_closes_mid_call_fails_every_pending_call(server):
    async def main():
        client = await aio.connect(server.path)
        pending = asyncio.create_task(client.call("t.S", "Later", b"a"))
        await until(lambda: len(server.later) == 1)
        with pytest.raises(ConnectionError, match="connection closed after 0 of 10 bytes"):
            await client.call("t.S", "Hangup", b"")
        with pytest.raises(ConnectionError, match="connection closed"):
            await pending
        assert client.closed
        with pytest.raises(ConnectionError, match="ttrpc connection closed"):
            await client.call("t.S", "Echo", b"")
        client.close()
        await client.wait_closed()

    run(main())


def test_oversized_frames_are_refused_both_ways(server, tmp_path):
    async def main():
        async with await aio.connect(server.path) as client:
            with pytest.raises(frames.FrameError, match="payload length"):
                await client.call("t.S", "Echo", b"x" * (frames.MAX_LENGTH + 1))
            with pytest.raises(TtrpcError) as e:  # the server refuses to send one
                await client.call("t.S", "Huge", b"")
            assert e.value.code == Code.RESOURCE_EXHAUSTED
            assert await client.call("t.S", "Echo", b"still here") == b"still here"

        async def oversized_answer(reader, writer):
            await reader.read(65536)
            writer.write(frames.HEADER.pack(frames.MAX_LENGTH + 1, 1, frames.FrameType.RESPONSE, 0))
            await writer.drain()
            await reader.read()  # until the client hangs up
            writer.close()

        path = str(tmp_path / "bad.sock")
        peer = await asyncio.start_unix_server(oversized_answer, path=path)
        async with peer, await aio.connect(path) as client:
            with pytest.raises(frames.FrameError, match="exceeds the maximum"):
                await client.call("t.S", "Echo", b"")
            with pytest.raises(ConnectionError):
                await client.call("t.S", "Echo", b"")

    run(main())


def test_a_call_that_times_out_or_is_cancelled_leaves_the_connection_usable(server):
    async def main():
        async with await aio.connect(server.path) as client:
            with pytest.raises(TimeoutError):
                await client.call("t.S", "Later", b"timed-out", timeout=0.05)
            cancelled = asyncio.create_task(client.call("t.S", "Later", b"cancelled"))
            await until(lambda: len(server.later) == 2)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            # their answers come late, for stream ids nobody waits on any more: dropped
            assert await client.call("t.S", "Release", b"") == b"released"
            assert await client.call("t.S", "Echo", b"next", timeout=5) == b"next"

    run(main())


def test_close_fails_pending_calls(server):
    async def main():
        client = await aio.connect(server.path)
        pending = asyncio.create_task(client.call("t.S", "Later", b"a"))
        await until(lambda: len(server.later) == 1)
        client.close()
        with pytest.raises(ConnectionError, match="ttrpc client closed"):
            await pending
        await client.wait_closed()
        with pytest.raises(ConnectionError, match="ttrpc connection closed"):
            await client.call("t.S", "Echo", b"")

    run(main())


def test_connect_understands_containerd_address_forms(server):
    async def main():
        async with await aio.connect("unix://" + server.path) as client:
            assert await client.call("t.S", "Echo", b"x") == b"x"
        abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        name = f"pyrunc-aio-test-{os.getpid()}"
        abstract.bind("\0" + name)
        abstract.listen()
        try:
            (await aio.connect("unix://@" + name)).close()
        finally:
            abstract.close()
        with pytest.raises(FileNotFoundError):
            await aio.connect(server.path + ".missing")

    run(main())
