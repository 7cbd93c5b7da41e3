"""`pyrunc events`: the container's cgroup stats as runc's JSON lines, and OOM notices.

--stats prints one {"type":"stats",...} object. Otherwise a stats line every
--interval (a Go duration, default 5s) and an {"type":"oom","id":...} line
whenever the kernel OOM-kills in the container, until the container stops.
"""

import json
import select
import sys
import time

from ..container import Container
from ..errors import PyruncError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text):
    """Go's time.ParseDuration ("5s", "1m30s", "250ms", "1.5h"), in seconds."""
    err = PyruncError(f'invalid value "{text}" for flag -interval: parse error')
    s = text
    sign = 1.0
    if s[:1] in ("+", "-"):
        sign, s = (-1.0 if s[0] == "-" else 1.0), s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise err
    total = 0.0
    while s:
        i = 0
        while i < len(s) and (s[i].isdigit() or s[i] == "."):
            i += 1
        number, s = s[:i], s[i:]
        j = 0
        while j < len(s) and not (s[j].isdigit() or s[j] == "."):
            j += 1
        unit, s = s[:j], s[j:]
        if not number or number == "." or number.count(".") > 1 or unit not in _UNITS:
            raise err
        total += float(number) * _UNITS[unit]
    return sign * total


def _emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _stats_event(cid, cg):
    return {"type": "stats", "id": cid, "data": cg.stats()}


def events(ctx, args, interval=None, stats=False):
    from .. import cgroups

    cgroups.set_logger(ctx.log)
    period = parse_duration(interval) if interval is not None else 5.0
    if period <= 0:
        raise PyruncError("duration interval must be greater than 0")
    c = Container.load(ctx.root, args[0])
    try:
        c.require("events")
        cg = c.cgroup()
    finally:
        # a long-running reader must not block pause, kill or delete
        c.unlock()
    if stats:
        _emit(_stats_event(c.id, cg))
        return 0
    try:
        watch = cg.oom_watch()
    except (OSError, PyruncError) as e:
        ctx.log.warning(f"OOM notifications unavailable: {e}")
        watch = None
    poller = select.poll()
    if watch is not None:
        poller.register(watch, watch.events)
    next_tick = time.monotonic() + period
    try:
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            for _fd, _ev in poller.poll(timeout * 1000):
                count = watch.read()
                if count is None:  # the cgroup is gone: the container was deleted
                    return 0
                if count:
                    _emit({"type": "oom", "id": c.id})
            if time.monotonic() >= next_tick:
                next_tick += period
                if not c.init_alive() or not cg.exists():
                    return 0
                try:
                    _emit(_stats_event(c.id, cg))
                except OSError as e:
                    ctx.log.error(f"unable to read stats: {e}")
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        if watch is not None:
            watch.close()
