"""Container output in docker's json-file shape: one {"log", "stream", "time"} object per line.

The shim hands the container FIFOs it opened O_RDWR, so they outlive our reader: output written
while pyruncd is down waits in the pipe (64 KiB, then the writer blocks, as with docker) and is
read when the daemon reopens the FIFO after a restart.

Files rotate as docker's json-file driver does (--log-opt max-size, max-file): <id>-json.log is
written, <id>-json.log.1 is the one before, up to max-file files. `read` streams entries from
those files (never all of them in memory), and with `follow` goes on as they are written,
across rotations.
"""

import asyncio
import datetime
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote  # json.dumps' own C encoder, ensure_ascii
from pathlib import Path

from ..clock import rfc3339
from ..errors import InvalidArgument
from ..threads import in_thread

MAX_LINE = 16384       # a longer line is cut into entries without newline, as docker's copier does
_READ_FILE = 65536     # per step of `read`, in a worker thread
_MODE = 0o640
DEFAULT_LOG_OPTS = {"max-size": "20m", "max-file": "5"}  # docker's `local` driver bounds: 100 MB per container


@dataclass
class Entry:
    stream: str
    data: bytes
    time: str

    @classmethod
    def parse(cls, line: str | bytes) -> "Entry":
        d = json.loads(line)
        return cls(d["stream"], d["log"].encode("utf-8", "surrogateescape"), d["time"])

    def dump(self) -> str:
        return (f'{{"log":{_quote(self.data.decode("utf-8", "surrogateescape"))},"stream":"{self.stream}",'
                f'"time":"{self.time}"}}\n')


# ---- options

_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_KNOWN_UNSUPPORTED = {"compress", "labels", "labels-regex", "env", "env-regex", "tag"}


@dataclass(frozen=True, kw_only=True)
class LogConfig:
    config: dict[str, str] = field(default_factory=dict)  # as given, the daemon's defaults filling the rest
    max_size: int = -1   # bytes per file; -1: one file, never rotated
    max_file: int = 1


def log_opts_map(items: list[str]) -> dict[str, str]:
    """KEY=VALUE items (docker's ConvertKVStringsToMap: a KEY alone has the empty value)."""
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


def parse_size(text: str) -> int:
    """docker's units.FromHumanSize: decimal multiples (10m is 10,000,000 bytes)."""
    m = _SIZE.match(text)
    if not m:
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(float(m[1]) * 1000 ** (" kmgtp".index(m[2].lower()) if m[2] else 0))


def parse_log_opts(opts: dict[str, str], defaults: dict[str, str] | None = None) -> LogConfig:
    """docker's json-file New and ValidateLogOpt; `defaults` (the daemon's) fill what `opts` leaves out."""
    merged = {**(defaults or {}), **opts}
    for key in merged:
        if key in _KNOWN_UNSUPPORTED:
            raise InvalidArgument(f"log opt '{key}' of the json-file log driver is not supported by pyruncd")
        if key not in ("max-size", "max-file"):
            raise InvalidArgument(f"unknown log opt '{key}' for json-file log driver")
    size, files = -1, 1
    if "max-size" in merged:
        size = parse_size(merged["max-size"])
        if size <= 0:
            raise InvalidArgument("max-size must be a positive number")
    if "max-file" in merged:
        text = merged["max-file"]
        if not re.fullmatch(r"[+-]?\d+", text):
            raise InvalidArgument(f'invalid max-file "{text}": not an integer')
        files = int(text)
        if files < 1:
            raise InvalidArgument("max-file cannot be less than 1")
    return LogConfig(config=merged, max_size=size, max_file=files)


# ---- writing

def rotated(path: Path, index: int) -> Path:
    """The file `index` rotations back: the current file is 0."""
    return path if index == 0 else path.with_name(f"{path.name}.{index}")


def _open_for_append(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _MODE)
    os.fchmod(fd, _MODE)  # also a file a previous version created wider
    return fd


class LogFile:
    """Appends a container's output as entries, rotating by its LogConfig. Runs on the event loop:
    each `write` is one read's worth (fifo.READ_PER_WAKE)."""

    def __init__(self, path: Path, config: LogConfig):
        self.path = path
        self.config = config
        self._fd = _open_for_append(path)
        self.size = os.fstat(self._fd).st_size
        self.generation = 0  # rotations since opened: a follower finds the file after its own by it
        self.closed = False
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        self._followers: set[asyncio.Event] = set()

    def write(self, stream: str, data: bytes) -> None:
        *lines, rest = (self._partial[stream] + data).split(b"\n")
        now = rfc3339()  # one time per read: its lines arrived together
        out = [Entry(stream, line + b"\n", now).dump() for line in lines]
        while len(rest) > MAX_LINE:
            out.append(Entry(stream, rest[:MAX_LINE], now).dump())
            rest = rest[MAX_LINE:]
        self._partial[stream] = rest
        self._append(out)

    def _append(self, entries: list[str]) -> None:
        """As docker: once a file reaches max-size the next entry starts a new one (a file exceeds it by
        one entry at most). Entries are ASCII: characters are bytes."""
        limit, start = self.config.max_size, 0
        while start < len(entries):
            if 0 < limit <= self.size:
                self._rotate()
            end, size = start, self.size
            while end < len(entries) and (limit <= 0 or size < limit):
                size += len(entries[end])
                end += 1
            view = memoryview("".join(entries[start:end]).encode())
            while view:
                view = view[os.write(self._fd, view):]
            self.size, start = size, end
        for ev in self._followers:
            ev.set()

    def _rotate(self) -> None:
        os.close(self._fd)
        # renamed, never truncated: a reader holding a file reads it to its end
        for i in range(self.config.max_file - 1, 0, -1):
            try:
                os.replace(rotated(self.path, i - 1), rotated(self.path, i))
            except FileNotFoundError:
                pass
        if self.config.max_file == 1:
            self.path.unlink(missing_ok=True)
        self._fd = _open_for_append(self.path)
        self.size = 0
        self.generation += 1

    def watch(self) -> asyncio.Event:
        ev = asyncio.Event()
        self._followers.add(ev)
        return ev

    def unwatch(self, ev: asyncio.Event) -> None:
        self._followers.discard(ev)

    def close(self) -> None:
        if self.closed:
            return
        now = rfc3339()
        self._append([Entry(s, data, now).dump() for s, data in self._partial.items() if data])
        os.close(self._fd)
        self.closed = True
        for ev in self._followers:
            ev.set()


# ---- reading

class _Cursor:
    """One open log file read forward in a worker thread: whole lines only, the first `skip` passed over,
    up to `end` (its size when opened: `logs` shows what was written when asked) unless None."""

    def __init__(self, fd: int, skip: int = 0, after: datetime.datetime | None = None, end: int | None = None):
        self.fd, self.skip, self.after, self.end = fd, skip, after, end
        self._carry = b""
        self._offset = 0

    def read(self) -> list[Entry] | None:
        """The entries of the next step; None at the end of what is written."""
        want = _READ_FILE if self.end is None else min(_READ_FILE, self.end - self._offset)
        data = os.pread(self.fd, want, self._offset) if want > 0 else b""
        if not data:
            return None
        self._offset += len(data)
        *lines, self._carry = (self._carry + data).split(b"\n")
        if len(self._carry) > 8 * MAX_LINE:  # not ours: no entry is this long
            self._carry = b""
        if self.skip:
            n = min(self.skip, len(lines))
            lines, self.skip = lines[n:], self.skip - n
        out = []
        for line in lines:
            try:
                e = Entry.parse(line)
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a line cut short by a crash
            if self.after is None or (t := parse_time(e.time)) is None or t >= self.after:
                out.append(e)
        return out


def _count_lines(fd: int, end: int) -> int:
    n, offset = 0, 0
    while offset < end and (block := os.pread(fd, min(1 << 20, end - offset), offset)):
        n += block.count(b"\n")
        offset += len(block)
    return n


def _tail_start(fds: list[int], ends: list[int], tail: int) -> tuple[int, int]:
    """(index of the file, lines to skip in it) where the last `tail` lines begin; newest files counted first."""
    need = tail
    for i in range(len(fds) - 1, -1, -1):
        n = _count_lines(fds[i], ends[i])
        if n >= need:
            return i, n - need
        need -= n
    return 0, 0


def _open_existing(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return -1


async def read(path: Path, max_file: int, live: LogFile | None, *, tail: int = -1,
               after: datetime.datetime | None = None) -> AsyncIterator[Entry]:
    """The entries of every file, oldest first (the last `tail` when >= 0); then, when `live` is given,
    those written until it closes. Files are opened here at once, so a rotation meanwhile loses nothing."""
    ev = live.watch() if live is not None else None
    gen = live.generation if live is not None else 0
    fds = [fd for i in range(max(max_file, 1) - 1, -1, -1) if (fd := _open_existing(rotated(path, i))) >= 0]
    ends = [os.fstat(fd).st_size for fd in fds]  # on the loop, between two writes: at an entry's end
    try:
        start, skip = (0, 0) if tail < 0 else await in_thread(_tail_start, fds, ends, tail)
        if tail == 0 and fds:
            start, skip = len(fds) - 1, 1 << 62
        cursor = None
        for i in range(start, len(fds)):
            cursor = _Cursor(fds[i], skip if i == start else 0, after, ends[i])
            while (entries := await in_thread(cursor.read)) is not None:
                for e in entries:
                    yield e
        if live is None or cursor is None or ev is None:
            return
        cursor.skip, cursor.end = 0, None  # following: what is written from now on, in the current file (the last opened) first
        while True:
            ev.clear()
            rotations = live.generation
            entries = await in_thread(cursor.read)
            if entries is not None:
                for e in entries:
                    yield e
                continue
            if rotations != gen:  # ours was rotated away and is read to its end: on to the next one
                index = min(rotations - gen - 1, live.config.max_file - 1)  # beyond: deleted unread, lost
                fd = _open_existing(rotated(path, index))
                if fd < 0:
                    continue
                fds.append(fd)
                cursor, gen = _Cursor(fd, 0, after), rotations - index
                continue
            if live.closed:
                return
            await ev.wait()
    finally:
        if live is not None and ev is not None:
            live.unwatch(ev)
        for fd in fds:
            os.close(fd)


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
