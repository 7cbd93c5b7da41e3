"""compose up, create and down."""

from __future__ import annotations

import argparse
import sys

from ..api import Api, ApiError
from ..compose import engine, state
from ..compose.errors import ComposeError
from ..compose.progress import event
from ..compose.reconcile import dependency_order, orphans, plan
from .compose_common import check_services, ensure_images, parse_scale, project_of, project_or_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..compose.model import Project
    from ..compose.reconcile import Existing


def _orphans(api: Api, project: Project, existing: list[Existing], remove: bool) -> None:
    found = orphans(project, existing)
    if not found:
        return
    if remove:
        for c in found:
            engine.remove(api, project, c)
        return
    names = ", ".join(c.name for c in found)
    sys.stderr.write(f"WARN[0000] Found orphan containers ([{names}]) for this project. If you removed or renamed "
                     "this service in your compose file, you can run this command with the --remove-orphans flag "
                     "to clean it up.\n")


def _converge(api: Api, args: argparse.Namespace, *, start: bool) -> tuple[Project, dict[str, list[tuple[str, str]]]]:
    project = project_of(args, explicit=args.services)
    services = check_services(project, args.services)
    order = dependency_order(project, services, with_deps=not args.no_deps)
    ensure_images(api, project, order, build=args.build)
    existing = [e for _, e in state.containers(api, project.name)]
    _orphans(api, project, existing, args.remove_orphans)
    engine.ensure_networks(api, project)
    engine.ensure_volumes(api, project)
    statuses = {e.id: e.status for e in existing}
    plans = plan(project, existing, order, scale=parse_scale(args.scale, project),
                 force_recreate=args.force_recreate, no_recreate=args.no_recreate)
    made = engine.converge(api, project, plans)
    if start:
        engine.start_services(api, project, order, made, statuses)
    return project, {name: made.get(name, []) for name in order}


def create(api: Api, args: argparse.Namespace) -> int:
    _converge(api, args, start=False)
    return 0


def up(api: Api, args: argparse.Namespace) -> int:
    if args.detach and args.abort_on_container_exit:
        raise ComposeError('"-d" and "--abort-on-container-exit" are incompatible')
    import time

    since = f"{time.time():.6f}"  # what the containers say from now on, as an attached docker compose up shows
    project, made = _converge(api, args, start=not args.no_start)
    if args.no_start:
        return 0
    if args.wait:
        timeout = float(args.wait_timeout) if args.wait_timeout else None
        for name, containers in made.items():
            healthy = "healthcheck" in project.all_services()[name].config
            for cid, cname in containers:
                if healthy:
                    engine.wait_condition(api, cid, cname, "service_healthy", timeout)
        return 0
    if args.detach:
        return 0
    return _attached(api, project, made, args, since)


def _attached(api: Api, project: Project, made: dict[str, list[tuple[str, str]]], args: argparse.Namespace,
              since: str) -> int:
    """Follow every container's output until all have exited (or, with --abort-on-container-exit, one has);
    Ctrl+C stops them all, as docker compose does."""
    import queue

    from .compose_logs import Printer, follow

    containers = [(cid, name) for items in made.values() for cid, name in items]
    short = {cid: name.removeprefix(project.name + "-") for cid, name in containers}
    printer = Printer(list(short.values()), prefix=True, timestamps=False)
    sys.stderr.write(f"Attaching to {', '.join(short.values())}\n")
    done: queue.Queue[tuple[str, str]] = queue.Queue()
    for cid, _name in containers:
        follow(api, printer, cid, short[cid], tail=-1, since=since, done=done)
    status = 0
    try:
        for _ in containers:
            cid, name = done.get()
            code = _exit_code(api, cid)
            printer.note(f"{name} exited with code {code}")
            if args.abort_on_container_exit:
                printer.note("Aborting on container exit...")
                status = code
                break
        else:
            return 0
    except KeyboardInterrupt:
        sys.stderr.write("Gracefully stopping... (press Ctrl+C again to force)\n")
        status = 130
    def stop(own: Api, pair: tuple[str, str]) -> None:
        try:
            event("Container", pair[1], "Stopping")
            own.containers.stop(pair[0], args.timeout)
            event("Container", pair[1], "Stopped")
        except ApiError:
            pass

    engine.in_parallel(api, containers, stop)
    return status


def _exit_code(api: Api, cid: str) -> int:
    try:
        return api.containers.wait(cid)
    except ApiError:
        return 0


def down(api: Api, args: argparse.Namespace) -> int:
    project, from_file = project_or_name(args)
    found = state.containers(api, project.name, oneoff=None)
    order = {name: n for n, name in enumerate(dependency_order(project, list(project.all_services())))}
    mine = [e for _, e in found if e.service in order or e.oneoff or not from_file]
    running = ("running", "paused", "restarting")
    for level in engine.stop_levels(project, mine):
        engine.in_parallel(api, [e for e in level if e.status in running],
                           lambda own, e: engine.stop(own, project, e, args.timeout))
    engine.in_parallel(api, mine, lambda own, e: engine.remove(own, project, e, volumes=True, stop_first=False))
    left = orphans(project, [e for _, e in found]) if from_file else []
    if left and args.remove_orphans:
        for e in left:
            engine.remove(api, project, e, volumes=True)
    elif left:
        _orphans(api, project, left, False)
    else:
        engine.down_networks(api, project, engine.project_networks(api, project))
    if args.volumes:
        for name in engine.project_volumes(api, project):
            event("Volume", name, "Removing")
            api.volumes.remove(name, force=False)
            event("Volume", name, "Removed")
    if args.rmi:
        _remove_images(api, project, args.rmi)
    return 0


def _remove_images(api: Api, project: Project, which: str) -> None:
    from ..compose.convert import image_name

    seen = set()
    for svc in project.all_services().values():
        image = image_name(project, svc)
        if image in seen or (which == "local" and svc.image):
            continue
        seen.add(image)
        try:
            api.images.remove(image, force=False, no_prune=False)
        except ApiError as e:
            if e.code != "NOT_FOUND":
                raise
            continue
        event("Image", image, "Removed")
