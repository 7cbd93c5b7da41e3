"""Carrying out a plan through the API: the project's networks and volumes made, containers created,
recreated, scaled, started in dependency order (waiting for health or completion), stopped and removed."""

from __future__ import annotations

import json
import time

from ..api import ApiError
from . import labels
from .convert import container_config
from .errors import ComposeError
from .progress import event
from .reconcile import dependency_levels

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from ..api import Api
    from .model import Project, Service
    from .reconcile import Existing, ServicePlan

    T = TypeVar("T")

_POLL = 0.2


def _not_found(e: ApiError) -> bool:
    return e.code == "NOT_FOUND" or "no such" in e.message.lower() or "not found" in e.message.lower()


def ensure_networks(api: Api, project: Project) -> None:
    for net in project.networks.values():
        try:
            api.networks.inspect(net.name)
            continue
        except ApiError as e:
            if not _not_found(e):
                raise
        if net.external:
            raise ComposeError(f"network {net.name} declared as external, but could not be found")
        event("Network", net.name, "Creating")
        net_labels = {**net.labels, labels.PROJECT: project.name, labels.NETWORK: net.key,
                      labels.VERSION: labels.VERSION_VALUE}
        api.networks.create(net.name, driver="bridge", subnet=net.subnet, gateway=net.gateway, labels=net_labels,
                            internal=net.internal)
        event("Network", net.name, "Created")


def ensure_volumes(api: Api, project: Project) -> None:
    for vol in project.volumes.values():
        try:
            api.volumes.inspect(vol.name)
            continue
        except ApiError as e:
            if not _not_found(e):
                raise
        if vol.external:
            raise ComposeError(f"external volume \"{vol.name}\" not found")
        event("Volume", f'"{vol.name}"', "Creating")
        api.volumes.create(vol.name, driver="local", labels={**vol.labels, labels.PROJECT: project.name,
                                                             labels.VOLUME: vol.key, labels.VERSION: labels.VERSION_VALUE})
        event("Volume", f'"{vol.name}"', "Created")


def create(api: Api, project: Project, service: Service, number: int, running: dict[str, str], *,
           oneoff: bool = False, name: str = "", overrides: dict[str, object] | None = None) -> str:
    """Create container `number` of `service` and connect its other networks; its id."""
    config, connects = container_config(project, service, number, oneoff=oneoff, name=name, service_containers=running)
    if overrides:
        config.update(overrides)  # type: ignore[typeddict-item]
    cid = api.containers.create(config)
    try:
        for c in connects:
            api.networks.connect(c.network, cid, aliases=c.aliases, ip=c.ip)
    except ApiError:
        api.containers.remove(cid, force=True, volumes=True)
        raise
    return cid


def stop(api: Api, project: Project, existing: Existing, timeout: int | None = None) -> None:
    svc = project.all_services().get(existing.service)
    if timeout is None and svc is not None:
        timeout = svc.stop_timeout
    event("Container", existing.name, "Stopping")
    api.containers.stop(existing.id, timeout)
    event("Container", existing.name, "Stopped")


def remove(api: Api, project: Project, existing: Existing, *, volumes: bool = False, stop_first: bool = True) -> None:
    if stop_first and existing.status in ("running", "paused", "restarting"):
        stop(api, project, existing)
    event("Container", existing.name, "Removing")
    api.containers.remove(existing.id, force=True, volumes=volumes)
    event("Container", existing.name, "Removed")


def converge(api: Api, project: Project, plans: list[ServicePlan]) -> dict[str, list[tuple[str, str]]]:
    """Create, recreate and scale; service -> its (id, name) containers after, in number order. The services
    of one dependency level at once (each on connections of its own), as docker compose does."""
    result: dict[str, list[tuple[str, str]]] = {}
    running: dict[str, str] = {}
    by_name = {p.service.name: p for p in plans}
    for level in dependency_levels(project, list(by_name)):
        in_parallel(api, [by_name[name] for name in level],
                    lambda own, p: _converge_service(own, project, p, running, result))
    return {p.service.name: result[p.service.name] for p in plans}


def _converge_service(api: Api, project: Project, p: ServicePlan, running: dict[str, str],
                      result: dict[str, list[tuple[str, str]]]) -> None:
    """One service's part of converge; `running` and `result` get its containers (one key per thread)."""
    from .convert import container_name

    svc = p.service
    for c in p.remove:
        remove(api, project, c)
    made: list[tuple[int, str, str]] = [(c.number, c.id, c.name) for c in p.keep]
    for c in p.recreate:
        event("Container", c.name, "Recreate")
        remove_quiet(api, project, c)
        cid = create(api, project, svc, c.number, running)
        made.append((c.number, cid, container_name(project, svc, c.number)))
        event("Container", c.name, "Recreated")
    for number in p.create:
        name = container_name(project, svc, number)
        event("Container", name, "Creating")
        made.append((number, create(api, project, svc, number, running), name))
        event("Container", name, "Created")
    made.sort()
    result[svc.name] = [(cid, name) for _, cid, name in made]
    if made:
        running[svc.name] = made[0][1]


def remove_quiet(api: Api, project: Project, c: Existing) -> None:
    svc = project.all_services().get(c.service)
    if c.status in ("running", "paused", "restarting"):
        api.containers.stop(c.id, svc.stop_timeout if svc else None)
    api.containers.remove(c.id, force=True, volumes=False)


def _doc(api: Api, cid: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(api.containers.inspect(cid).inspect_json)  # Any: JSON
    return doc


def wait_condition(api: Api, cid: str, name: str, condition: str, timeout: float | None = None) -> None:
    """Block until container `cid` meets a depends_on condition; ComposeError when it cannot."""
    deadline = None if timeout is None else time.monotonic() + timeout
    if condition == "service_started":
        return
    event("Container", name, "Waiting")
    while True:
        state = _doc(api, cid).get("State") or {}
        status = str(state.get("Status", ""))
        health = (state.get("Health") or {}).get("Status", "")
        if condition == "service_healthy":
            if not state.get("Health"):
                raise ComposeError(f"container {name} has no healthcheck configured")
            if health == "healthy":
                event("Container", name, "Healthy")
                return
            if health == "unhealthy":
                raise ComposeError(f"dependency failed to start: container {name} is unhealthy")
            if status in ("exited", "dead"):
                raise ComposeError(f"dependency failed to start: container {name} exited ({state.get('ExitCode')})")
        else:  # service_completed_successfully
            if status in ("exited", "dead"):
                code = state.get("ExitCode")
                if code != 0:
                    raise ComposeError(f'service "{name}" didn\'t complete successfully: exit {code}')
                event("Container", name, "Exited")
                return
        if deadline is not None and time.monotonic() > deadline:
            raise ComposeError(f"timeout waiting for container {name}")
        time.sleep(_POLL)


def start_service(api: Api, project: Project, service: Service, containers: list[tuple[str, str]],
                  started: dict[str, list[tuple[str, str]]], statuses: dict[str, str]) -> None:
    """Wait for the service's dependencies' conditions, then start its containers that are not running."""
    for dep, condition in service.depends_on.items():
        for cid, name in started.get(dep, []):
            wait_condition(api, cid, name, condition)
    for cid, name in containers:
        if statuses.get(cid) == "running":
            event("Container", name, "Running")
            continue
        event("Container", name, "Starting")
        api.containers.start(cid)
        event("Container", name, "Started")


def start_services(api: Api, project: Project, order: list[str], made: dict[str, list[tuple[str, str]]],
                   statuses: dict[str, str]) -> None:
    """start_service for the services of `order`, those of one dependency level at once: a service waiting for
    one dependency's health does not hold up its neighbours."""
    services = project.all_services()
    for level in dependency_levels(project, order):
        in_parallel(api, level, lambda own, name: start_service(own, project, services[name], made.get(name, []),
                                                                made, statuses))


def down_networks(api: Api, project: Project, network_names: list[str]) -> None:
    for name in network_names:
        event("Network", name, "Removing")
        try:
            api.networks.remove(name)
        except ApiError as e:
            if not _not_found(e):
                raise
        event("Network", name, "Removed")


def project_networks(api: Api, project: Project) -> list[str]:
    """The networks this project made (by label), the model's own first."""
    return [n.name for n in api.networks.ls()
            if (json.loads(n.inspect_json).get("Labels") or {}).get(labels.PROJECT) == project.name]


def project_volumes(api: Api, project: Project) -> list[str]:
    return [v.name for v in api.volumes.ls([]) if v.labels.get(labels.PROJECT) == project.name]


def in_parallel(api: Api, items: list[T], call: Callable[[Api, T], object]) -> None:
    """`call(api, item)` for every item at once, each thread on connections of its own (a connection
    carries one call at a time); the first error is raised once all are done."""
    if len(items) <= 1:
        for item in items:
            call(api, item)
        return
    from concurrent.futures import wait

    from ..api.parallel import each_at_once

    with each_at_once(api, items, call, 8) as futures:
        wait(futures)
    for f in futures:
        f.result()


def stop_levels(project: Project, containers: list[Existing]) -> list[list[Existing]]:
    """The containers in the order they may stop: those no other service depends on first, each level's
    together (docker compose stops dependents before what they depend on)."""
    services = project.all_services()
    level: dict[str, int] = {}

    def depth(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in level:
            users = [s.name for s in services.values() if name in s.depends_on and s.name not in seen]
            level[name] = 1 + max((depth(u, (*seen, name)) for u in users), default=-1)
        return level[name]

    out: dict[int, list[Existing]] = {}
    for c in containers:
        out.setdefault(depth(c.service) if c.service in services else 0, []).append(c)
    return [out[k] for k in sorted(out)]
