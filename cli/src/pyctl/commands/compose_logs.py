"""Several containers' output at once, each line prefixed with its service and number (`web-1  | ...`),
as `compose logs` and an attached `compose up` show it. One thread and connection per followed container."""

from __future__ import annotations

import sys
import threading

from ..api import ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import queue

    from ..api import Api


class Printer:
    """Whole lines to stdout, one writer at a time; prefixes padded to the longest."""

    def __init__(self, names: list[str], *, prefix: bool, timestamps: bool) -> None:
        self.width = max((len(n) for n in names), default=0)
        self.prefix = prefix
        self.timestamps = timestamps
        self.lock = threading.Lock()

    def line(self, name: str, data: bytes, time: str = "") -> None:
        head = f"{name.ljust(self.width)}  | " if self.prefix else ""
        stamp = f"{time} " if self.timestamps and time else ""
        text = data.decode(errors="replace")
        if not text.endswith("\n"):
            text += "\n"
        with self.lock:
            sys.stdout.write(head + stamp + text)
            sys.stdout.flush()

    def note(self, text: str) -> None:
        with self.lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()


def dump(api: Api, printer: Printer, containers: list[tuple[str, str]], *, tail: int, since: str) -> None:
    """The containers' output so far, interleaved by time as docker compose shows it."""
    entries = []
    for cid, name in containers:
        entries += [(e.time, n, name, e.data) for n, e in
                    enumerate(api.containers.logs(cid, follow=False, tail=tail, since=since))]
    entries.sort(key=lambda entry: (entry[0], entry[1]))  # RFC 3339 in UTC with fixed digits sorts as text
    for time, _n, name, data in entries:
        printer.line(name, data, time)


def follow(api: Api, printer: Printer, cid: str, name: str, *, tail: int, since: str,
           done: queue.Queue[tuple[str, str]] | None = None) -> threading.Thread:
    """Follow one container's output on a connection of its own until it exits; then put (id, name) on `done`."""

    def run() -> None:
        own = api.another()
        try:
            for e in own.containers.logs(cid, follow=True, tail=tail, since=since):
                printer.line(name, e.data, e.time)
        except ApiError:
            pass  # removed while followed: its end is the end of its output
        finally:
            own.close()
            if done is not None:
                done.put((cid, name))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
