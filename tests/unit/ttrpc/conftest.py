"""A pyrunc_ttrpc Server in a thread, for the blocking and the asyncio client's tests."""

import os
import socket
import threading
from dataclasses import dataclass, field

import pytest
from pyrunc_ttrpc.frames import MAX_LENGTH
from pyrunc_ttrpc.server import DEFERRED, Call, Server
from pyrunc_ttrpc.status import Code, TtrpcError


@dataclass(kw_only=True)
class Served:
    path: str
    later: list[Call] = field(default_factory=list)  # Later calls not answered yet, in arrival order


@pytest.fixture
def server(tmp_path):
    """Methods of service t.S: Echo, Meta (metadata "k"), Fail, Crash, Huge (over the frame limit),
    Later (deferred until a Release, which answers them last first, then itself) and Hangup (the
    server closes the connection, mid-call)."""
    served = Served(path=str(tmp_path / "s.sock"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(served.path)
    listener.listen()

    def later(call):
        served.later.append(call)
        return DEFERRED

    def release(call):
        while served.later:
            c = served.later.pop()
            c.reply(b"late:" + c.payload)
        return b"released"

    def fail(call):
        raise TtrpcError(Code.NOT_FOUND, "no such thing")

    def crash(call):
        raise ValueError("bug")

    def hangup(call):
        call.conn.sock.shutdown(socket.SHUT_RDWR)  # the loop then reads EOF and closes it
        return DEFERRED

    handlers = {
        ("t.S", "Echo"): lambda call: call.payload,
        ("t.S", "Meta"): lambda call: call.metadata.get("k", "").encode(),
        ("t.S", "Fail"): fail,
        ("t.S", "Crash"): crash,
        ("t.S", "Huge"): lambda call: b"x" * MAX_LENGTH,
        ("t.S", "Later"): later,
        ("t.S", "Release"): release,
        ("t.S", "Hangup"): hangup,
    }
    srv = Server(listener, handlers)
    stop = threading.Event()
    wake_r, wake_w = os.pipe()
    srv.add_reader(wake_r, lambda: os.read(wake_r, 1))
    thread = threading.Thread(target=srv.serve, kwargs={"done": stop.is_set}, daemon=True)
    thread.start()
    yield served
    stop.set()
    os.write(wake_w, b"x")
    thread.join(5)
    listener.close()
    os.close(wake_r)
    os.close(wake_w)
