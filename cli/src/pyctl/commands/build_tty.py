"""`pyctl build --progress tty`: BuildKit's live display on a terminal (stderr), from the classic builder's
events the daemon sends. Each step is a line with its status and time, redrawn in place every 100 ms; a
running step shows the last lines of its output below it; the frame ends FINISHED (or with the step that
failed, in red, and its last output lines kept):

    [+] Building 3.4s (3/4)
     => [internal] load build context                                       0.0s
     => => transferring context: 2.05kB                                     0.0s
     => CACHED [1/3] FROM busybox                                           0.0s
     => [2/3] RUN ./long-job                                                3.1s
     => => # compiling 12/40
"""

from __future__ import annotations

import collections
import os
import re
import threading
import time
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import TextIO

    from pyrunc_proto.messages import pyrunc_build_v1_BuildProgress as BuildProgress

TAIL = 6  # output lines shown under a running step, as BuildKit
REFRESH = 0.1
_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$", re.S)
_BLUE, _RED, _RESET = "\x1b[34m", "\x1b[31m", "\x1b[0m"


@dataclass(kw_only=True)
class _Step:
    title: str
    started: float
    ended: float | None = None
    cached: bool = False
    failed: bool = False
    details: list[str] = field(default_factory=list)  # " => => " lines under it, kept once it is done
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL))
    partial: str = ""  # output after its last newline

    def add_output(self, data: bytes) -> None:
        text = self.partial + data.decode(errors="replace")
        *lines, self.partial = re.split(r"\r\n|\n|\r", text)
        self.tail.extend(line for line in lines if line.strip())

    def output_tail(self) -> list[str]:
        lines = list(self.tail) + ([self.partial] if self.partial.strip() else [])
        return lines[-TAIL:]


def transfer_size(n: int) -> str:
    """tonistiigi/units' %.2f of decimal bytes, as BuildKit shows a transfer: 37B, 2.05kB, 1.20MB."""
    if n < 1000:
        return f"{n}B"
    value, units = n / 1000, ["kB", "MB", "GB", "TB"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1000, units[1:]
    return f"{value:.2f}{units[0]}"


def qualified(name: str) -> str:
    """A familiar name as BuildKit's "naming to" line shows it: docker.io/library/name:tag."""
    first = name.split("/")[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


class TtyDisplay:
    """The live frame: feed it each event (`show`), `finish` it once; the daemon's text stays the source."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.start = time.monotonic()
        self.steps: list[_Step] = [_Step(title="[internal] load build context", started=self.start)]
        self.total = 0
        self.sent = 0
        self.warnings: list[str] = []
        self.drawn = 0  # lines of the last frame, to go back up over
        self.finished = ""
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker = threading.Thread(target=self._tick, daemon=True)
        self.ticker.start()

    def counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """The context's chunks as they go, counted for the transfer line."""
        for chunk in chunks:
            self.sent += len(chunk)
            yield chunk

    def _tick(self) -> None:
        while not self.stop.wait(REFRESH):
            with self.lock:
                self._draw()

    def _current(self) -> _Step:
        return self.steps[-1]

    def _begin(self, title: str) -> None:
        now = time.monotonic()
        for step in self.steps:
            if step.ended is None:
                step.ended = now
        self.steps.append(_Step(title=title, started=now))

    def show(self, reply: BuildProgress) -> str | None:
        """Take one event; the image id when it is the build's."""
        kind = reply.WhichOneof("event")
        with self.lock:
            first = self.steps[0]
            if first.ended is None:
                first.ended = time.monotonic()
                first.details = [f"transferring context: {transfer_size(self.sent)}"]
            if kind == "step":
                match = _STEP.match(reply.step)
                if match:
                    self.total = int(match[2])
                    self._begin(f"[{match[1]}/{match[2]}] {match[3].strip()}")
                else:
                    self._begin(reply.step.strip())
            elif kind == "status" and reply.status.strip() == "---> Using cache":
                self._current().cached = True
            elif kind == "output":
                self._current().add_output(reply.output)
            elif kind == "warning":
                self.warnings.append(reply.warning)
            elif kind == "image_id":
                self._begin("exporting to image")
                self._current().details = ["exporting layers", f"writing image {reply.image_id}"]
                return reply.image_id
            elif kind == "tagged":
                self._current().details.append(f"naming to {qualified(reply.tagged)}")
            elif kind == "failure":
                self._current().failed = True
            self._draw()
        return None

    def finish(self, failed: bool = False) -> None:
        """The last frame, left on the terminal; then the warnings, as BuildKit prints them below it."""
        self.stop.set()
        self.ticker.join()
        with self.lock:
            now = time.monotonic()
            for step in self.steps:
                if step.ended is None:
                    step.ended = now
            self.finished = "" if failed else " FINISHED"
            self._draw()
            for warning in self.warnings:
                self.out.write(f"{warning}\n")
            self.out.flush()

    def _lines(self, width: int) -> list[str]:
        now = time.monotonic()
        done = sum(1 for step in self.steps[1:] if step.ended is not None and step.title[:1] == "[")
        header = f"[+] Building {now - self.start:.1f}s ({done}/{self.total}){self.finished}"
        lines = [header]
        for step in self.steps:
            seconds = (step.ended or now) - step.started
            prefix = "ERROR " if step.failed else "CACHED " if step.cached else ""
            color = _RED if step.failed else _BLUE if step.ended is not None else ""
            lines.append(self._timed(f" => {prefix}{step.title}", seconds, width, color))
            for detail in step.details:
                lines.append(self._timed(f" => => {detail}", seconds, width, color))
            if step.ended is None or step.failed:
                lines += [self._fit(f" => => # {line}", width) for line in step.output_tail()]
        return lines

    @staticmethod
    def _fit(text: str, width: int) -> str:
        text = text.replace("\t", " ")
        return text if len(text) < width else text[: max(width - 4, 0)] + "..."

    def _timed(self, text: str, seconds: float, width: int, color: str) -> str:
        time_text = f"{seconds:.1f}s"
        text = self._fit(text, width - len(time_text) - 1)
        line = text + " " * max(width - len(text) - len(time_text) - 1, 1) + time_text
        return f"{color}{line}{_RESET}" if color else line

    def _draw(self) -> None:
        try:
            width, height = os.get_terminal_size(self.out.fileno())
        except (OSError, ValueError):
            width, height = 80, 25
        lines = self._lines(width)
        if len(lines) > height - 1:  # the newest lines stay in view, the header first
            lines = [lines[0], *lines[len(lines) - (height - 2):]]
        up = f"\x1b[{self.drawn}A\r" if self.drawn else ""
        self.out.write(up + "".join(f"{line}\x1b[K\n" for line in lines) + "\x1b[J")
        self.out.flush()
        self.drawn = len(lines)
