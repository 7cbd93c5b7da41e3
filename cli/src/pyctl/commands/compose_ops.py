"""compose exec, run, start, stop, restart, rm, kill, pause, unpause, pull, push and build."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api, ApiError
from ..compose import engine, state
from ..compose.errors import ComposeError
from ..compose.progress import event
from ..compose.reconcile import dependency_order, plan
from .compose_common import check_services, ensure_images, project_of, registry_auths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import Container

    from ..api.types import ContainerConfig, ExecConfig
    from ..compose.model import Project
    from ..compose.reconcile import Existing


def _in_order(api: Api, args: argparse.Namespace, *, reverse: bool = False) -> tuple[Project, list[tuple[Container, Existing]]]:
    project = project_of(args)
    check_services(project, args.services)
    rank = {name: n for n, name in enumerate(dependency_order(project, list(project.all_services())))}
    found = state.of_services(state.containers(api, project.name), args.services)
    found.sort(key=lambda pair: (rank.get(pair[1].service, len(rank)) * (-1 if reverse else 1), pair[1].number))
    return project, found


def _each(api: Api, args: argparse.Namespace, states: tuple[str, ...], doing: str, done: str,
          call: Callable[[Existing], object], *, reverse: bool = False) -> int:
    _, found = _in_order(api, args, reverse=reverse)
    for _c, e in found:
        if e.status in states:
            event("Container", e.name, doing)
            call(e)
            event("Container", e.name, done)
    return 0


def start(api: Api, args: argparse.Namespace) -> int:
    project, found = _in_order(api, args)
    if not found:
        raise ComposeError("service(s) have no container to start: run `pyctl compose up`")
    started: dict[str, list[tuple[str, str]]] = {}
    for _c, e in found:
        started.setdefault(e.service, []).append((e.id, e.name))
    statuses = {e.id: e.status for _c, e in found}
    for name, containers in started.items():
        svc = project.all_services().get(name)
        if svc is not None:
            engine.start_service(api, project, svc, containers, started, statuses)
    return 0


def stop(api: Api, args: argparse.Namespace) -> int:
    project, found = _in_order(api, args, reverse=True)
    for _c, e in found:
        if e.status in ("running", "paused", "restarting"):
            engine.stop(api, project, e, args.timeout)
    return 0


def restart(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    svcs = project.all_services()
    return _each(api, args, ("running", "exited", "created", "paused"), "Restarting", "Started",
                 lambda e: api.containers.restart(e.id, args.timeout if args.timeout is not None
                                                  else (svcs[e.service].stop_timeout if e.service in svcs else None)))


def kill(api: Api, args: argparse.Namespace) -> int:
    return _each(api, args, ("running", "paused", "restarting"), "Killing", "Killed",
                 lambda e: api.containers.kill(e.id, args.signal), reverse=True)


def pause(api: Api, args: argparse.Namespace) -> int:
    return _each(api, args, ("running",), "Pausing", "Paused", lambda e: api.containers.pause(e.id))


def unpause(api: Api, args: argparse.Namespace) -> int:
    return _each(api, args, ("paused",), "Unpausing", "Unpaused", lambda e: api.containers.unpause(e.id))


def rm(api: Api, args: argparse.Namespace) -> int:
    project, found = _in_order(api, args, reverse=True)
    if args.stop:
        for _c, e in found:
            if e.status in ("running", "paused", "restarting"):
                engine.stop(api, project, e)
                e.status = "exited"
    gone = [e for _c, e in found if e.status not in ("running", "paused", "restarting")]
    if not gone:
        sys.stderr.write("No stopped containers\n")
        return 0
    if not args.force and sys.stdin.isatty():
        sys.stdout.write(f"Going to remove {', '.join(e.name for e in gone)}\n? Are you sure? (y/N) ")
        sys.stdout.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            return 0
    for e in gone:
        engine.remove(api, project, e, volumes=args.volumes, stop_first=False)
    return 0


def _container(api: Api, project: Project, service: str, index: int) -> Existing:
    for _c, e in state.containers(api, project.name, all=False):
        if e.service == service and e.number == index:
            return e
    raise ComposeError(f'service "{service}" is not running')


def exec_(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    check_services(project, [args.service])
    e = _container(api, project, args.service, args.index)
    if not args.cmd:
        raise ComposeError("exec needs a command")
    tty = not args.no_tty and sys.stdin.isatty()
    config: ExecConfig = {"id": e.id, "cmd": args.cmd, "env": args.env, "workdir": args.workdir, "user": args.user,
                          "tty": tty, "interactive": tty}
    if tty:
        from .terminal import attach

        return attach(api, {"id": e.id, "exec": config}, tty=True, stdin=True)
    code = output.relay(api.containers.exec(config))
    if code is None:
        raise ComposeError("the daemon ended the stream before the process exited")
    return code


def run(api: Api, args: argparse.Namespace) -> int:
    import secrets

    project = project_of(args, explicit=[args.service])
    check_services(project, [args.service])
    svc = project.all_services()[args.service]
    deps = [] if args.no_deps else [d for d in dependency_order(project, [args.service]) if d != args.service]
    ensure_images(api, project, [*deps, args.service])
    engine.ensure_networks(api, project)
    engine.ensure_volumes(api, project)
    running: dict[str, str] = {}
    if deps:
        existing = [e for _c, e in state.containers(api, project.name)]
        made = engine.converge(api, project, plan(project, existing, deps, scale={}, no_recreate=True))
        statuses = {e.id: e.status for e in existing}
        for name in deps:
            engine.start_service(api, project, project.all_services()[name], made.get(name, []), made, statuses)
        running = {name: items[0][0] for name, items in made.items() if items}
        for dep, condition in svc.depends_on.items():
            for cid, cname in made.get(dep, []):
                engine.wait_condition(api, cid, cname, condition)
    tty = not args.no_tty and sys.stdin.isatty()
    overrides: ContainerConfig = {"tty": tty, "open_stdin": tty or args.interactive, "auto_remove": False}
    if args.cmd:
        overrides["cmd"] = args.cmd
    if args.entrypoint is not None:
        overrides.update({"entrypoint_set": True, "entrypoint": [args.entrypoint] if args.entrypoint else []})
    if args.user:
        overrides["user"] = args.user
    if args.workdir:
        overrides["workdir"] = args.workdir
    name = args.name or f"{project.name}-{args.service}-run-{secrets.token_hex(6)}"
    from ..compose.convert import container_config

    base, _ = container_config(project, svc, 1, oneoff=True, name=name, service_containers=running)
    overrides["env"] = [*base.get("env", []), *args.env]
    cid = engine.create(api, project, svc, 1, running, oneoff=True, name=name, overrides=dict(overrides))
    try:
        if args.detach:
            api.containers.start(cid)
            sys.stdout.write(name + "\n")
            return 0
        if tty or args.interactive:
            from .terminal import attach

            return attach(api, {"id": cid, "start": True}, tty=tty, stdin=True)
        code = output.relay(api.containers.start_attached(cid))
        return code if code is not None else 1
    finally:
        if args.rm and not args.detach:
            try:
                api.containers.remove(cid, force=True, volumes=True)
            except ApiError:
                pass


def pull(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    for name in check_services(project, args.services):
        svc = project.all_services()[name]
        if not svc.image:
            continue
        event(name, "", "Pulling")
        for _ in api.images.pull(svc.image, platform=svc.config.get("platform", ""), auths=registry_auths()):
            pass
        event(name, "", "Pulled")
    return 0


def push(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    for name in check_services(project, args.services):
        svc = project.all_services()[name]
        if not svc.image or "build" not in svc.config:
            continue
        event(name, "", "Pushing")
        for _ in api.images.push(svc.image, auths=registry_auths()):
            pass
        event(name, "", "Pushed")
    return 0


def build(api: Api, args: argparse.Namespace) -> int:
    from .compose_build import build_service

    project = project_of(args, explicit=args.services)
    for name in check_services(project, args.services):
        svc = project.all_services()[name]
        if "build" in svc.config:
            build_service(api, project, svc, no_cache=args.no_cache, pull=args.pull, quiet=args.quiet)
    return 0
