"""A grpcio aio server on a unix socket, run on a loop in a thread, for the client tests."""

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc


@contextlib.contextmanager
def serving(sock: Path, add_servicers: Callable[[grpc.aio.Server], None],
            options: tuple[tuple[str, int], ...] = ()) -> Iterator[None]:
    """The server with what `add_servicers` adds, listening on `sock` until the block ends."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop: asyncio.Event | None = None

    async def serve() -> None:
        nonlocal stop
        server = grpc.aio.server(options=list(options))
        add_servicers(server)
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
        yield
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        t.join(10)
