"""The daemon-wide event stream `pyctl events` reads, as dockerd's: containers' lifecycle (through the
containers' runtime), networks, volumes and images publish to one bus; watchers get every event from
the moment they subscribe, and the last events are kept for --since, as dockerd keeps its last ones.

Filters are dockerd's (daemon/events/filter.go): the same key ORs its values, different keys AND;
type and event match exactly; container, network and volume match the actor's id or its name by
prefix; image the id or name exactly, with or without its tag; label every KEY or KEY=VALUE given."""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from .errors import InvalidArgument

KEEP = 1024              # events kept for --since (dockerd keeps 256)
FILTER_KEYS = ("type", "event", "container", "network", "volume", "image", "label", "scope", "daemon")


@dataclass(frozen=True, kw_only=True)
class Event:
    type: str                                   # container, network, volume, image
    action: str                                 # create, start, connect, mount, pull, tag, ...
    id: str                                     # the actor: a container's or network's id, a volume's name, ...
    attributes: dict[str, str] = field(default_factory=dict)
    time_nano: int = 0                          # nanoseconds since the epoch

    @property
    def time(self) -> str:
        """RFC 3339 with nanoseconds, UTC, as `docker events` prints it."""
        s, ns = divmod(self.time_nano, 1_000_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns:09d}Z"


class EventBus:
    def __init__(self, keep: int = KEEP) -> None:
        self._watchers: set[asyncio.Queue[Event]] = set()
        self._kept: deque[Event] = deque(maxlen=keep)

    def emit(self, kind: str, action: str, actor: str, /, **attributes: str) -> Event:
        """`kind`: the event's type; `actor`: its id; attributes may be named type, name, ..."""
        e = Event(type=kind, action=action, id=actor, attributes=attributes, time_nano=time.time_ns())
        self._kept.append(e)
        for q in self._watchers:
            q.put_nowait(e)
        return e

    def watch(self) -> "asyncio.Queue[Event]":
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._watchers.add(q)
        return q

    def unwatch(self, q: "asyncio.Queue[Event]") -> None:
        self._watchers.discard(q)

    async def stream(self, *, since: float | None = None, until: float | None = None,
                     filters: Sequence[str] = ()) -> AsyncIterator[Event]:
        """The kept events from `since` (when given; also when only `until` is), then the new ones, all
        through `filters` (KEY=VALUE); the stream ends at `until` (seconds since the epoch)."""
        wanted = parse_filters(filters)
        q = self.watch()
        try:
            if since is not None or until is not None:
                lo = int((since or 0) * 1e9)
                hi = int(until * 1e9) if until is not None else None
                for e in list(self._kept):
                    if e.time_nano >= lo and (hi is None or e.time_nano <= hi) and matches(e, wanted):
                        yield e
            while True:
                left = None if until is None else until - time.time()
                if left is not None and left <= 0:
                    return
                try:
                    e = await asyncio.wait_for(q.get(), left)
                except TimeoutError:
                    return
                if since is not None and e.time_nano < since * 1e9:
                    continue
                if matches(e, wanted):
                    yield e
        finally:
            self.unwatch(q)


def parse_filters(items: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or key not in FILTER_KEYS:
            raise InvalidArgument(f"invalid filter '{key}'" if eq else "bad format of filter (expected name=value)")
        out.setdefault(key, []).append(value)
    return out


def _exact(filters: Mapping[str, list[str]], key: str, *values: str) -> bool:
    return key not in filters or any(v in filters[key] for v in values)


def _fuzzy(filters: Mapping[str, list[str]], key: str, *values: str) -> bool:
    return key not in filters or any(v and (v == f or v.startswith(f)) for f in filters[key] for v in values)


def _untagged(name: str) -> str:
    """An image reference without its :tag (a registry's :port stays)."""
    head, sep, tag = name.rpartition(":")
    return head if sep and "/" not in tag else name


def matches(e: Event, filters: Mapping[str, list[str]]) -> bool:
    if not filters:
        return True
    name = e.attributes.get("name", "")
    if "event" in filters and any(f.partition(":")[0] in ("health_status", "exec_create", "exec_start")
                                  for f in filters["event"]):
        event_ok = _fuzzy(filters, "event", e.action)
    else:
        event_ok = _exact(filters, "event", e.action)
    image = e.attributes.get("name" if e.type == "image" else "image", "")
    labels_ok = all(
        (f.partition("=")[0] in e.attributes and (not f.partition("=")[1] or
                                                   e.attributes[f.partition("=")[0]] == f.partition("=")[2]))
        for f in filters.get("label", []))
    return (event_ok and _exact(filters, "type", e.type) and _exact(filters, "scope", "local") and labels_ok
            and _fuzzy(filters, "container", *(e.id, name) if e.type == "container" else ())
            and _fuzzy(filters, "network", *(e.id, name) if e.type == "network" else ())
            and _fuzzy(filters, "volume", *(e.id, name) if e.type == "volume" else ())
            and _exact(filters, "image", e.id, image, _untagged(e.id), _untagged(image)))
