"""An asyncio ttrpc client: concurrent unary calls multiplexed by stream id over one connection.

For pyruncd: a Wait per running process can stay pending on one connection per shim, answered as
the processes exit, while other calls go back and forth beside them, with no thread blocked per
call. A call ends as client.Client.call does: the response payload, TtrpcError with the peer's
status code, FrameError for a frame over frames.MAX_LENGTH, ConnectionError when the connection
ends, and TimeoutError past its timeout. One task reads the responses and hands each to the call
waiting on its stream id; a call that timed out or was cancelled gives its stream id up and its
late answer is dropped (ttrpc has no cancel message for unary calls). Once the connection fails
(the peer closed it, sent a frame we refuse, or close() was called) every pending call fails with
that error and every later call with ConnectionError: dial again for a new connection.
"""

import asyncio

from .client import unix_path
from .frames import HEADER, FrameError, FrameType, pack, unpack_header
from .messages import decode_response, encode_request


async def connect(address: str, timeout: float | None = 5.0) -> "Client":
    """Dial a containerd address (client.unix_path); TimeoutError past timeout, OSError if refused."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_unix_connection(unix_path(address))
    return Client(reader, writer)


class Client:
    """Made by connect(); `async with` closes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._next_stream = 1  # clients use odd stream ids
        self._waiting: dict[int, asyncio.Future[bytes]] = {}
        self._error: Exception | None = None  # why the connection ended, once it has
        self._receiver = asyncio.get_running_loop().create_task(self._receive())

    @property
    def closed(self) -> bool:
        return self._error is not None

    async def call(self, service: str, method: str, payload: bytes, metadata: dict[str, str] | None = None,
                   *, timeout: float | None = None) -> bytes:
        """The response payload; timeout (seconds, None for none) covers sending and the answer."""
        if self._error is not None:
            raise ConnectionError(f"ttrpc connection closed: {self._error}") from self._error
        stream_id = self._next_stream
        self._next_stream += 2
        frame = pack(stream_id, FrameType.REQUEST, encode_request(service, method, payload, metadata))
        answer = asyncio.get_running_loop().create_future()
        self._waiting[stream_id] = answer
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(frame)  # one write per frame: concurrent calls never interleave bytes
                await self._writer.drain()
                data = await answer
        finally:
            del self._waiting[stream_id]
            if answer.done() and not answer.cancelled():
                answer.exception()  # a failure that raced our cancellation is not "never retrieved"
        return decode_response(data)

    def close(self) -> None:
        """Close the connection: pending calls fail with ConnectionError."""
        self._fail(ConnectionError("ttrpc client closed"))
        self._receiver.cancel()

    async def wait_closed(self) -> None:
        """After close(): until the response reader has stopped and the socket is closed."""
        await asyncio.wait([self._receiver])
        try:
            await self._writer.wait_closed()
        except OSError:
            pass  # how the connection ended was the pending calls' business

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
        await self.wait_closed()

    async def _receive(self) -> None:
        """Hand each response to the call waiting on its stream id, until the connection fails."""
        try:
            while True:
                length, stream_id, ftype, _flags = unpack_header(await self._reader.readexactly(HEADER.size))
                data = await self._reader.readexactly(length)
                answer = self._waiting.get(stream_id)
                if ftype == FrameType.RESPONSE and answer is not None and not answer.done():
                    answer.set_result(data)
        except asyncio.IncompleteReadError as e:
            self._fail(ConnectionError(f"connection closed after {len(e.partial)} of {e.expected} bytes"))
        except (FrameError, OSError) as e:
            self._fail(e)

    def _fail(self, error: Exception) -> None:
        if self._error is not None:
            return
        self._error = error
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(error)
        self._writer.close()
