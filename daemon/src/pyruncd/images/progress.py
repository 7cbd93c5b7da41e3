"""The progress lines of pull and push, as docker prints them. Apart from pull.py and push.py, which
the images service imports at their first call: they bring the registry client and httpx."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """One progress line: `id` is a short layer digest, or empty for the whole operation."""

    id: str
    status: str
    current: int = 0
    total: int = 0


Emit = Callable[[Event], None]


def short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]
