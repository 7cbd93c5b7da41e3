"""Docker's output shapes: tabwriter tables, human sizes and times, JSON, per-layer progress."""

from __future__ import annotations

import json
import sys

from .api import ApiError
from .errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable, Iterable
    from typing import Any, TextIO

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import ExecOutput
    from pyrunc_proto.pyrunc.images.v1.images_pb2 import Progress as ProgressMessage


def table(headers: list[str], rows: list[list[str]], out: TextIO | None = None, minwidth: int = 10) -> None:
    """Columns as docker's tabwriter lays them out (at least `minwidth` wide, 3 spaces of padding; docker
    top's is 20 wide)."""
    text = tabwriter("\n".join("\t".join(r) for r in [headers, *rows]), minwidth)
    (out or sys.stdout).write("".join(line.rstrip() + "\n" for line in text.splitlines()))


_DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB"]
_BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]


def _scaled(n: float, base: int, units: list[str], digits: int) -> str:
    size, i = float(n), 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.{digits}g}{units[i]}"


def human_size(n: float, digits: int = 4) -> str:
    """go-units HumanSizeWithPrecision: decimal units ("4.26MB", "123MB", "0B"); HumanSize is 4 digits."""
    return _scaled(n, 1000, _DECIMAL, digits)


def binary_size(n: float) -> str:
    """go-units BytesSize: binary units, 4 significant digits ("1.5MiB")."""
    return _scaled(n, 1024, _BINARY, 4)


def parse_time(text: str) -> datetime.datetime | None:  # datetime is imported when needed: ~5 ms
    import datetime

    if not text:
        return None
    t = text.replace("Z", "+00:00")
    if "." in t:  # Python wants at most 6 fraction digits; Go writes up to 9
        head, _, rest = t.partition(".")
        frac = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(frac):]
        t = f"{head}.{frac[:6]}{tz}"
    try:
        dt = datetime.datetime.fromisoformat(t)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=datetime.UTC)


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, as docker's "N units ago" uses it."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


def since(text: str) -> str:
    import datetime

    dt = parse_time(text)
    if dt is None:
        return "N/A"
    return human_duration((datetime.datetime.now(datetime.UTC) - dt).total_seconds()) + " ago"


def dump_json(obj: object, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(obj, indent=4) + "\n")


def short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


_BAR_STATUSES = ("Downloading", "Pushing", "Extracting")


class Progress:
    """Docker's pull/push display: one line per layer, redrawn in place on a terminal.

    Off a terminal only status changes are printed (no byte counts), as docker does.
    """

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.tty = out.isatty()
        self.lines: list[str] = []  # ids, in the order first seen
        self.last: dict[str, str] = {}

    def _render(self, p: ProgressMessage) -> str:
        if p.status in _BAR_STATUSES and p.total > 0:
            width = 50
            filled = min(width, int(width * p.current / p.total))
            bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
            return f"{p.id}: {p.status} [{bar}]  {human_size(p.current)}/{human_size(p.total)}"
        return f"{p.id}: {p.status}"

    def update(self, p: ProgressMessage) -> None:
        if not p.id:
            self.out.write(p.status + "\n")
            self.out.flush()
            return
        if not self.tty:
            if p.status in _BAR_STATUSES:
                return
            if self.last.get(p.id) != p.status:
                self.last[p.id] = p.status
                self.out.write(f"{p.id}: {p.status}\n")
                self.out.flush()
            return
        text = self._render(p)
        if p.id not in self.lines:
            self.lines.append(p.id)
            self.out.write(text + "\n")
        else:
            up = len(self.lines) - self.lines.index(p.id)
            self.out.write(f"\x1b[{up}A\x1b[2K\r{text}\n" + (f"\x1b[{up - 1}B" if up > 1 else ""))
        self.out.flush()


def relay(outputs: Iterable[ExecOutput]) -> int | None:
    """Write a process's output messages to our stdout/stderr as they come; its exit code, or None
    when the stream ended without one."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for o in outputs:
        if o.exited:
            return o.exit_code
        f = err if o.stream == "stderr" else out
        f.write(o.data)
        f.flush()
    return None


def each(names: list[str], call: Callable[[str], object], *, forgive: str = "") -> int:
    """docker's per-name commands (rm, start, ...): `call(name)` for every name, printing it when
    done and the daemon's error when not, and going on; the exit status is 1 if any failed, errors
    of the kind `forgive` names (a status code: `rm -f`'s NOT_FOUND) aside."""
    status = 0
    for name in names:
        try:
            call(name)
            sys.stdout.write(name + "\n")
        except ApiError as e:
            sys.stderr.write(f"Error response from daemon: {e.message}\n")
            status = status or int(e.code != forgive)
    return status


def confirm(warning: str) -> bool:
    """docker's prune prompt: "WARNING! <warning>" and a y/N question; True for y or yes."""
    sys.stdout.write(f"WARNING! {warning}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


# docker's column titles of the fields its ls commands' templates know (formatter's *HeaderContext)
HEADERS = {"ID": "ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
           "Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS",
           "Mounts": "MOUNTS", "Networks": "NETWORKS", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
           "CreatedSince": "CREATED", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
           "IPv6": "IPV6", "Internal": "INTERNAL"}


def _with_label(row: dict[str, Any]) -> dict[str, Any]:
    """`{{.Label "k"}}`: one label's value, from the row's Labels column (k=v,...)."""
    labels = dict(kv.partition("=")[::2] for kv in str(row.get("Labels", "")).split(",") if kv)
    return {**row, "Label": lambda name: labels.get(name, "")}


def listing(fmt: str, rows: list[dict[str, Any]], headers: list[str], keys: list[str]) -> None:
    """An ls command's rows as docker's formatter writes them: no format (or `table`) a table of `keys`;
    `json` one JSON object per line; `table TEMPLATE` a tabwriter table with a header row; any other
    TEMPLATE one line per row. As docker, a literal \\t and \\n in the template are a tab and a newline."""
    if fmt == "json":
        for r in rows:
            sys.stdout.write(json.dumps(r) + "\n")
        return
    if fmt.strip() in ("", "table"):
        table(headers, [[str(r[k]) for k in keys] for r in rows], sys.stdout)
        return
    from .templates import Template, TemplateError

    is_table = fmt.startswith("table")
    text = (fmt[5:] if is_table else fmt).strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    try:
        t = Template(text)
        lines = [t.execute(_with_label(r)) for r in rows]
        if is_table:
            names = dict(zip(keys, headers, strict=True))
            head = {k: names.get(k, HEADERS.get(k, k.upper())) for k in (rows[0] if rows else {**HEADERS, **names})}
            lines.insert(0, t.execute({**head, "Label": lambda name: "LABEL"}))
    except TemplateError as e:
        raise CLIError(f"Template parsing error: {e}") from None
    if is_table:
        sys.stdout.write(tabwriter("\n".join(lines)))
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))


def tabwriter(text: str, minwidth: int = 10, padding: int = 3) -> str:
    """Go's text/tabwriter as docker's formatter sets it up (minwidth 10, padding 3, spaces): a cell ended
    by a tab is padded to its column's width; the last cell of a line is not."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: dict[int, int] = {}
    for cells in lines:
        for j, c in enumerate(cells[:-1]):
            widths[j] = max(widths.get(j, 0), len(c) + padding, minwidth)
    return "".join("".join(c.ljust(widths[j]) for j, c in enumerate(cells[:-1])) + cells[-1] + "\n" for cells in lines)


def template(fmt: str, doc: Any) -> str:
    """Go's text/template over a JSON document, as `inspect -f` runs it (templates.py)."""
    from .templates import TemplateError, render

    try:
        return render(fmt, doc)
    except TemplateError as e:
        raise CLIError(f"Template parsing error: {e}") from None


def inspect_docs(docs: list[dict[str, Any]], fmt: str, kinds: list[str] | None = None) -> None:
    """An inspect command's documents: one line per document through `-f` if given, else a JSON array.
    `kinds`: each document's (container, image, network, volume), for what Go types its nulls have."""
    if fmt:
        from .doctypes import typed

        for d, kind in zip(docs, kinds or [""] * len(docs), strict=True):
            sys.stdout.write(template(fmt, typed(d, kind)) + "\n")
    else:
        dump_json(docs)
