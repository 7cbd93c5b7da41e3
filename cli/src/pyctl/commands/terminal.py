"""Attach a terminal (or plain stdin/stdout) to a container process over the Attach stream.

With a tty: raw mode on our terminal, its size sent first and on every SIGWINCH, and ctrl-p
ctrl-q detaching (the ctrl-p is held back until the next key shows it is not a detach).
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading

from .. import output
from ..api import Api, ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import ExecOutput

    from ..api.grpcio import BidiStream
    from ..api.types import AttachInput

DETACH = (0x10, 0x11)  # ctrl-p ctrl-q


class _Detached(Exception):
    pass


def _size() -> AttachInput | None:
    try:
        cols, rows = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return {"width": cols, "height": rows}


def _filter_detach(data: bytes, held: list[bool]) -> tuple[bytes, bool]:
    """The bytes to send, and whether the detach sequence was typed."""
    out = bytearray()
    for b in data:
        if held[0]:
            held[0] = False
            if b == DETACH[1]:
                return bytes(out), True
            out.append(DETACH[0])
        if b == DETACH[0]:
            held[0] = True
            continue
        out.append(b)
    return bytes(out), False


def attach(api: Api, first: AttachInput, *, tty: bool, stdin: bool) -> int:
    """The process `first` names: stream until it exits (its exit code) or the user detaches (0)."""
    requests: queue.Queue[AttachInput | None] = queue.Queue()
    detached = threading.Event()
    call: BidiStream[ExecOutput] | None = None

    def gen() -> Iterator[AttachInput]:
        yield first
        while (item := requests.get()) is not None:
            yield item

    def read_stdin() -> None:
        held = [False]
        while True:
            try:
                data = os.read(sys.stdin.fileno(), 4096)
            except OSError:
                data = b""
            if not data:
                requests.put({"close_stdin": True})
                return
            if tty:
                data, detach = _filter_detach(data, held)
                if data:
                    requests.put({"stdin": data})
                if detach:
                    detached.set()
                    if call is not None:
                        call.cancel()
                    return
            else:
                requests.put({"stdin": data})

    saved = None
    old_winch = None
    if tty and sys.stdin.isatty():
        import termios
        import tty as ttymod

        saved = termios.tcgetattr(sys.stdin.fileno())
        ttymod.setraw(sys.stdin.fileno())
    if tty and sys.stdout.isatty():
        if (size := _size()) is not None:
            requests.put(size)

        def resized(_signum: int, _frame: FrameType | None) -> None:
            if (size := _size()) is not None:
                requests.put(size)

        old_winch = signal.signal(signal.SIGWINCH, resized)
    try:
        call = api.containers.attach(gen())
        if stdin:
            threading.Thread(target=read_stdin, daemon=True).start()
        try:
            if (code := output.relay(call)) is not None:
                return code
        except ApiError as e:
            if detached.is_set() and e.code == "CANCELLED":
                return 0
            raise
        return 0 if detached.is_set() else 125
    finally:
        requests.put(None)
        if old_winch is not None:
            signal.signal(signal.SIGWINCH, old_winch)
        if saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
