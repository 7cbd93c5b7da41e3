"""Health checks: the image's HEALTHCHECK merged with --health-* flags, and the state a probe's result moves.

State per running container (in memory, as docker keeps it; a restart begins again at "starting"):
starting -> healthy | unhealthy, FailingStreak, and the last five probes' results. The probing is
policies/health.py's.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_LOG = 5
MAX_OUTPUT = 4096
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, flag: str) -> float:
    """Go's time.ParseDuration (1m30s, 500ms, 0), in seconds."""
    t = text.strip()
    if t == "0":
        return 0.0
    pos, total = 0, 0.0
    for m in _DURATION.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _SECONDS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise InvalidArgument(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    return total


@dataclass
class Healthcheck:
    test: list[str]                 # ["CMD", ...] or ["CMD-SHELL", "cmd"]
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    start_period: float = 0.0
    retries: int = DEFAULT_RETRIES

    def argv(self) -> list[str]:
        return self.test[1:] if self.test[0] == "CMD" else ["/bin/sh", "-c", self.test[1]]

    def inspect(self) -> dict[str, Any]:
        """As docker's Config.Healthcheck: durations in nanoseconds."""
        return {"Test": self.test, "Interval": int(self.interval * 1e9), "Timeout": int(self.timeout * 1e9),
                "StartPeriod": int(self.start_period * 1e9), "Retries": self.retries}


def resolve(image_config: dict[str, Any], *, cmd: str = "", interval: str = "", timeout: str = "", retries: str = "",
            start_period: str = "", disabled: bool = False) -> Healthcheck | None:
    """The check a container runs: the image's, each flag given replacing its part; None for no check."""
    given = any((cmd, interval, timeout, retries, start_period))
    if disabled:
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return None
    # every flag is checked, even when no check follows from them
    durations = {}
    for attr, text, flag in (("interval", interval, "--health-interval"), ("timeout", timeout, "--health-timeout"),
                             ("start_period", start_period, "--health-start-period")):
        if text:
            value = durations[attr] = parse_duration(text, flag)
            if 0 < value < 0.001:
                raise InvalidArgument(f"{flag} cannot be less than 1ms")
    count = None
    if retries:
        try:
            count = int(retries)
        except ValueError:
            raise InvalidArgument(f'invalid argument "{retries}" for "--health-retries" flag: '
                                  f'strconv.ParseInt: parsing "{retries}": invalid syntax') from None
        if count < 0:
            raise InvalidArgument("--health-retries cannot be negative")
    image = (image_config.get("config") or {}).get("Healthcheck") or {}
    test = ["CMD-SHELL", cmd] if cmd else list(image.get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] not in ("CMD", "CMD-SHELL") or len(test) < 2:
        raise InvalidArgument(f"invalid healthcheck test: {test}")
    h = Healthcheck(test)
    for attr, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        # a flag replaces the image's value; 0 (either way) keeps docker's default
        value = durations.get(attr) or (image.get(key) or 0) / 1e9
        if value:
            setattr(h, attr, value)
    h.retries = count or int(image.get("Retries") or 0) or DEFAULT_RETRIES
    return h


@dataclass
class Result:
    start: str
    end: str
    exit_code: int
    output: str


@dataclass
class Health:
    status: str = STARTING
    failing_streak: int = 0
    log: list[Result] = field(default_factory=list)

    def record(self, r: Result, retries: int, in_start_period: bool) -> bool:
        """One probe's result; True when the status changed."""
        self.log = (self.log + [r])[-MAX_LOG:]
        before = self.status
        if r.exit_code == 0:
            self.status, self.failing_streak = HEALTHY, 0
        elif not in_start_period or self.status != STARTING:
            # failures inside the start period do not count until the first success
            self.failing_streak += 1
            if self.failing_streak >= retries:
                self.status = UNHEALTHY
        return self.status != before

    def inspect(self) -> dict[str, Any]:
        return {"Status": self.status, "FailingStreak": self.failing_streak,
                "Log": [{"Start": r.start, "End": r.end, "ExitCode": r.exit_code, "Output": r.output}
                        for r in self.log]}
