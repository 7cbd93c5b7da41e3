"""Type checks of YAML values, each error naming the value's path (services.web.ports[0])."""

from __future__ import annotations

import re

from .errors import ComposeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

def kind(value: object) -> str:
    if value is None:
        return "null"
    for t, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                    (dict, "a mapping"), (list, "a list")):
        if isinstance(value, t):
            return name
    return type(value).__name__


def fail(where: str, message: str) -> ComposeError:
    return ComposeError(message, where)


def mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(where, f"must be a mapping, not {kind(value)}")
    for k in value:
        if not isinstance(k, str):
            raise fail(where, f"key {k!r} must be a string")
    return value


def string(value: object, where: str, *, numbers: bool = True) -> str:
    """A scalar as text (YAML reads 8080 and 1.5 as numbers; compose takes them as strings there)."""
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise fail(where, f"must be a string, not {kind(value)}")


def integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fail(where, f"must be an integer, not {kind(value)}")
    if isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]+", value.strip()):
            raise fail(where, f'invalid integer "{value}"')
        return int(value)
    return value


def boolean(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise fail(where, f"must be a boolean, not {kind(value)}")


def strings(value: object, where: str) -> list[str]:
    """A string or a list of strings, as a list."""
    if isinstance(value, str):
        return [value]
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(where, f"must be a string or a list, not {kind(value)}")
    return [string(v, f"{where}[{n}]") for n, v in enumerate(value)]


def string_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(where, f"must be a list, not {kind(value)}")
    return [string(v, f"{where}[{n}]") for n, v in enumerate(value)]


def key_values(value: object, where: str, *, sep: str = "=", allow_bare: bool = True) -> dict[str, str | None]:
    """environment / labels / sysctls: a mapping, or a list of KEY=VALUE (a bare KEY is None)."""
    if isinstance(value, dict):
        out: dict[str, str | None] = {}
        for k, v in mapping(value, where).items():
            if isinstance(v, bool):
                out[k] = "true" if v else "false"
            else:
                out[k] = None if v is None else string(v, f"{where}.{k}")
        return out
    out = {}
    for n, item in enumerate(string_list(value, where)):
        k, eq, v = item.partition(sep)
        if not k or (not eq and not allow_bare):
            raise fail(f"{where}[{n}]", f'invalid entry "{item}": want KEY{sep}VALUE')
        out[k] = v if eq else None
    return out


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?)(ns|us|µs|ms|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration(value: object, where: str) -> float:
    """Go's durations (1m30s, 500ms) in seconds; a bare number is seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = string(value, where)
    if not text or not re.fullmatch(r"(?:[0-9]+(?:\.[0-9]*)?(?:ns|us|µs|ms|s|m|h))+", text):
        raise fail(where, f'invalid duration "{text}"')
    return sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))


def go_duration(seconds: float) -> str:
    """Seconds as the daemon's flags take them (1m30s style, whole milliseconds)."""
    ms = round(seconds * 1000)
    if ms % 1000:
        return f"{ms}ms"
    return f"{ms // 1000}s"
