"""The project's containers as the daemon has them, found by their labels."""

from __future__ import annotations

from . import labels
from .reconcile import Existing, existing_from_labels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import Container

    from ..api import Api


def containers(api: Api, project: str, *, all: bool = True, oneoff: bool | None = False) -> list[tuple[Container, Existing]]:
    """The project's containers (`oneoff`: None for both kinds), sorted by service then number."""
    out = []
    for c in api.containers.ls(all=all):
        if c.labels.get(labels.PROJECT) != project:
            continue
        e = existing_from_labels(c.id, c.name, c.status, dict(c.labels))
        if oneoff is None or e.oneoff == oneoff:
            out.append((c, e))
    out.sort(key=lambda pair: (pair[1].service, pair[1].number, pair[1].name))
    return out


def of_services(found: list[tuple[Container, Existing]], services: list[str]) -> list[tuple[Container, Existing]]:
    return [pair for pair in found if not services or pair[1].service in services]
