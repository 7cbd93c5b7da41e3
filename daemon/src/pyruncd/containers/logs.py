"""Container output in docker's json-file shape: one {"log", "stream", "time"} object per line.

The shim hands the container FIFOs it opened O_RDWR, so they outlive our reader: output written
while pyruncd is down waits in the pipe (64 KiB, then the writer blocks, as with docker) and is
read when the daemon reopens the FIFO after a restart.
"""

import asyncio
import datetime
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..clock import rfc3339
from ..errors import InvalidArgument

_READ = 65536


@dataclass
class Entry:
    stream: str
    data: bytes
    time: str

    @classmethod
    def parse(cls, line: str) -> "Entry":
        d = json.loads(line)
        return cls(d["stream"], d["log"].encode("utf-8", "surrogateescape"), d["time"])

    def dump(self) -> str:
        return json.dumps({"log": self.data.decode("utf-8", "surrogateescape"), "stream": self.stream,
                           "time": self.time}, ensure_ascii=True) + "\n"


class LogFile:
    """Appends entries, each also handed to `on_entry` (the followers of `logs -f`)."""

    def __init__(self, path: Path, on_entry: Callable[[Entry], None]):
        self.path = path
        self.on_entry = on_entry
        self._f = open(path, "a")
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        buf = self._partial[stream] + data
        *lines, rest = buf.split(b"\n")
        self._partial[stream] = rest
        for line in lines:
            self._emit(Entry(stream, line + b"\n", rfc3339()))

    def _emit(self, e: Entry) -> None:
        self._f.write(e.dump())
        self._f.flush()
        self.on_entry(e)

    def close(self) -> None:
        for stream, rest in self._partial.items():
            if rest:
                self._emit(Entry(stream, rest, rfc3339()))
        self._f.close()


class FifoReader:
    """Reads a FIFO on the event loop and hands each chunk to `sink`."""

    def __init__(self, path: Path, sink: Callable[[bytes], None]):
        self.path = path
        self.sink = sink
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        asyncio.get_running_loop().add_reader(self.fd, self._ready)

    def _ready(self) -> None:
        self.drain()

    def drain(self) -> None:
        while self.fd >= 0:
            try:
                data = os.read(self.fd, _READ)
            except BlockingIOError:
                return
            if not data:  # every writer left: nothing more can come until one opens again
                return
            self.sink(data)

    def close(self) -> None:
        """Take what is in the pipe, then stop reading."""
        if self.fd < 0:
            return
        self.drain()
        asyncio.get_running_loop().remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1


def read_entries(path: Path) -> list[Entry]:
    if not path.exists():
        return []
    with open(path) as f:
        return [Entry.parse(line) for line in f if line.endswith("\n")]


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_since(text: str) -> datetime.datetime | None:
    """--since: a duration before now (10m, 1h30m is not), a unix time, or an RFC 3339 time."""
    if not text:
        return None
    utc = datetime.UTC
    if m := _DURATION.match(text):
        return datetime.datetime.now(utc) - datetime.timedelta(seconds=float(m[1]) * _UNITS[m[2]])
    try:
        return datetime.datetime.fromtimestamp(float(text), utc)
    except ValueError:
        pass
    t = parse_time(text)
    if t is None:
        raise InvalidArgument(f"--since {text!r}: want a duration (10m), a unix time or an RFC 3339 time")
    return t


def parse_time(text: str) -> datetime.datetime | None:
    t = text.replace("Z", "+00:00")
    if "." in t:
        head, _, rest = t.partition(".")
        frac = "".join(ch for ch in rest if ch.isdigit())
        t = f"{head}.{frac[:6]}{rest[len(frac):]}"
    try:
        dt = datetime.datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.UTC)
