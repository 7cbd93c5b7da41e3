"""Times as docker writes them: RFC 3339 in UTC, with Go's nine fraction digits."""

import datetime


def rfc3339(ts: float | None = None, *, fraction: bool = True) -> str:
    """`ts` seconds since the epoch, or now; `fraction=False` for whole seconds (volumes' CreatedAt)."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.UTC) if ts else datetime.datetime.now(datetime.UTC)
    head = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{head}.{dt.microsecond:06d}000Z" if fraction else head + "Z"
