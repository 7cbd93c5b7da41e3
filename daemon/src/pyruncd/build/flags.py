"""Instruction flags (`--from=x`, `--link`, `--mount=...`) with BuildKit's rules and error words
(frontend/dockerfile/instructions/bflag.go), and Go's duration syntax for HEALTHCHECK's intervals."""

import re
from dataclasses import dataclass, field
from enum import Enum


class FlagKind(Enum):
    BOOL = "bool"
    STRING = "string"
    STRINGS = "strings"  # may repeat: RUN --mount


class FlagError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class ParsedFlags:
    strings: dict[str, str] = field(default_factory=dict)
    bools: dict[str, bool] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def string(self, name: str) -> str | None:
        return self.strings.get(name)


def parse_flags(flags: tuple[str, ...], allowed: dict[str, FlagKind]) -> ParsedFlags:
    parsed = ParsedFlags()
    seen: set[str] = set()
    for flag in flags:
        if not flag.startswith("--"):
            raise FlagError(f"Arg should start with -- : {flag}")
        if flag == "--":
            break
        name, has_value, value = flag[2:].partition("=")
        kind = allowed.get(name)
        if kind is None:
            raise FlagError(f"Unknown flag: {name}")
        if name in seen and kind is not FlagKind.STRINGS:
            raise FlagError(f"Duplicate flag specified: {name}")
        seen.add(name)
        if kind is FlagKind.BOOL:
            if has_value and value == "":
                raise FlagError(f"Missing a value on flag: {name}")
            if value.lower() not in ("", "true", "false"):
                raise FlagError(f"Expecting boolean value for flag {name}, not: {value}")
            parsed.bools[name] = value.lower() != "false"
            continue
        if not has_value:
            raise FlagError(f"Missing a value on flag: {name}")
        if kind is FlagKind.STRING:
            parsed.strings[name] = value
        else:
            parsed.lists.setdefault(name, []).append(value)
    return parsed


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)")
_MINIMUM_DURATION = 1e-3  # docker's container.MinimumDuration


def parse_interval(name: str, text: str | None) -> float | None:
    """A HEALTHCHECK duration flag in seconds, as Go's time.ParseDuration reads it; 0 means the default."""
    if not text:
        return None
    if text in ("0", "+0", "-0"):
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    body = text[1:] if text[0] in "+-" else text
    if not body:
        raise FlagError(f'time: invalid duration "{text}"')
    position, seconds = 0, 0.0
    while position < len(body):
        match = _DURATION_PART.match(body, position)
        if match is None:
            raise FlagError(f'time: invalid duration "{text}"')
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    seconds *= sign
    if seconds == 0:
        return None
    if seconds < _MINIMUM_DURATION:
        raise FlagError(f'Interval "{name}" cannot be less than 1ms')
    return seconds
