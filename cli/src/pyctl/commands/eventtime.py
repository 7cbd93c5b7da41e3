"""`events --since/--until` values as the docker CLI reads them (api/types/time.GetTimestamp): a Go
duration ("10m", "1h30m", "1.5s") meaning that long before now, seconds since the epoch ("1700000000",
"1700000000.123456789"), or an RFC 3339 date or time (without a zone: local time); "" stays "". The
daemon is sent seconds since the epoch."""

import datetime
import re
import time

from ..errors import CLIError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H%z",
            "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H", "%Y-%m-%d")


def duration(text: str) -> float | None:
    """Go's time.ParseDuration, in seconds; None when `text` is not one."""
    body = text.lstrip("+-")
    if not body or _DURATION.sub("", body):
        return None
    seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(body))
    return -seconds if text.startswith("-") else seconds


def timestamp(text: str, now: float | None = None) -> str:
    if not text:
        return ""
    now = time.time() if now is None else now
    d = duration(text)
    if d is not None:
        return f"{now - d:.9f}"
    if re.fullmatch(r"\d+(\.\d{1,9})?", text):
        return text
    t = text.replace("Z", "+0000")
    if re.search(r"[+-]\d\d:\d\d$", t):
        t = t[:-3] + t[-2:]
    for fmt in _FORMATS:
        try:
            dt = datetime.datetime.strptime(t, fmt)
        except ValueError:
            continue
        return f"{dt.timestamp():.9f}"
    raise CLIError(f'failed to parse value as time or duration: "{text}"')
