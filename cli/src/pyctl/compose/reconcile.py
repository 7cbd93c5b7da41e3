"""The plan that brings a project's containers to its model: per service, in dependency order, which
containers stay, which are recreated (config hash changed, or forced), which go (scaled down) and which
numbers are created; and the containers of services the model no longer has (orphans)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import labels
from .errors import ComposeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .model import Project, Service


@dataclass(kw_only=True)
class Existing:
    """A container of the project, as listed by the daemon."""

    id: str
    name: str
    service: str
    number: int
    config_hash: str
    status: str
    oneoff: bool


@dataclass(kw_only=True)
class ServicePlan:
    service: Service
    keep: list[Existing] = field(default_factory=list)
    recreate: list[Existing] = field(default_factory=list)
    remove: list[Existing] = field(default_factory=list)
    create: list[int] = field(default_factory=list)


def existing_from_labels(cid: str, name: str, status: str, container_labels: dict[str, str]) -> Existing:
    number = container_labels.get(labels.NUMBER, "0")
    return Existing(id=cid, name=name, service=container_labels.get(labels.SERVICE, ""),
                    number=int(number) if number.isdigit() else 0,
                    config_hash=container_labels.get(labels.CONFIG_HASH, ""), status=status,
                    oneoff=container_labels.get(labels.ONEOFF, "False") == "True")


def dependency_order(project: Project, names: list[str] | None = None, *, with_deps: bool = True) -> list[str]:
    """Services with their dependencies first (`names`: these and, with `with_deps`, what they need)."""
    services = project.all_services()
    order: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ComposeError(f"dependency cycle detected: {' -> '.join([*visiting, name])}")
        visiting.append(name)
        svc = services[name]
        deps = list(svc.depends_on)
        if svc.network_mode.startswith("service:"):
            deps.append(svc.network_mode.removeprefix("service:"))
        if with_deps or names is None:
            for dep in deps:
                if dep in services:
                    visit(dep)
        visiting.pop()
        order.append(name)

    for name in names if names is not None else list(project.services):
        if name not in services:
            raise ComposeError(f"no such service: {name}")
        visit(name)
    return order


def dependency_levels(project: Project, order: list[str]) -> list[list[str]]:
    """`order` (dependencies first, as dependency_order gives it) cut into levels: each service one level past
    the deepest of its dependencies in `order`, so a level's services need nothing of each other."""
    services = project.all_services()
    level: dict[str, int] = {}
    for name in order:
        svc = services[name]
        deps = [*svc.depends_on, *([svc.network_mode.removeprefix("service:")]
                                   if svc.network_mode.startswith("service:") else [])]
        level[name] = 1 + max((level[d] for d in deps if d in level), default=-1)
    out: list[list[str]] = [[] for _ in range(1 + max(level.values(), default=-1))]
    for name in order:
        out[level[name]].append(name)
    return out


def plan(project: Project, existing: list[Existing], services: list[str], *, scale: dict[str, int],
         force_recreate: bool = False, no_recreate: bool = False) -> list[ServicePlan]:
    by_service: dict[str, list[Existing]] = {}
    for c in existing:
        if not c.oneoff:
            by_service.setdefault(c.service, []).append(c)
    out = []
    all_services = project.all_services()
    for name in services:
        svc = all_services[name]
        want = scale.get(name, svc.replicas)
        mine = sorted(by_service.get(name, []), key=lambda c: (c.number, c.name))
        p = ServicePlan(service=svc)
        p.remove = mine[want:]
        for c in mine[:want]:
            stale = c.config_hash != svc.config_hash
            (p.recreate if (force_recreate or stale) and not no_recreate else p.keep).append(c)
        taken = {c.number for c in mine[:want]}
        number = 1
        while len(taken) + len(p.create) < want:
            if number not in taken:
                p.create.append(number)
            number += 1
        out.append(p)
    return out


def orphans(project: Project, existing: list[Existing]) -> list[Existing]:
    known = project.all_services()
    return [c for c in existing if c.service not in known and not c.oneoff]
