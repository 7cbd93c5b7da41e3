"""compose ps, logs, config, top, port, images, events and ls: looking at a project."""

from __future__ import annotations

import argparse
import json
import sys

from .. import output
from ..api import Api
from ..compose import labels, state
from ..compose.errors import ComposeError
from . import networks
from .compose_common import check_services, project_of, project_or_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import Container

    from ..compose.reconcile import Existing


def _status(c: Container) -> str:
    doc = json.loads(c.inspect_json) if c.inspect_json else {}
    health = ((doc.get("State") or {}).get("Health") or {}).get("Status", "")
    suffix = "" if not health else " (health: starting)" if health == "starting" else f" ({health})"
    if c.status == "running":
        return "Up " + output.since(c.started_at).removesuffix(" ago") + suffix
    if c.status == "paused":
        return "Up " + output.since(c.started_at).removesuffix(" ago") + " (Paused)"
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {output.since(c.finished_at)}"
    return c.status.capitalize()


def _row(c: Container, e: Existing, project: str) -> dict[str, Any]:
    doc = json.loads(c.inspect_json) if c.inspect_json else {}
    health = ((doc.get("State") or {}).get("Health") or {}).get("Status", "")
    cmd = c.command if len(c.command) <= 20 else c.command[:19] + "…"
    return {"ID": c.id, "Name": c.name, "Image": c.image, "Command": json.dumps(cmd, ensure_ascii=False),
            "Project": project, "Service": e.service, "CreatedAt": c.created, "RunningFor": output.since(c.created),
            "State": c.status, "Status": _status(c), "Health": health, "ExitCode": c.exit_code,
            "Ports": networks.ports_column(c.inspect_json),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items()))}


def ps(api: Api, args: argparse.Namespace) -> int:
    project, _ = project_or_name(args)
    if args.list_services:
        sys.stdout.write("".join(f"{s}\n" for s in project.services))
        return 0
    check_services(project, args.services)
    found = state.of_services(state.containers(api, project.name, all=args.all, oneoff=None), args.services)
    rows = [_row(c, e, project.name) for c, e in found]
    if args.quiet:
        sys.stdout.write("".join(r["ID"] + "\n" for r in rows))
    elif args.format == "json":
        sys.stdout.write("".join(json.dumps(r) + "\n" for r in rows))
    elif args.format not in ("", "table"):
        fmt = args.format.removeprefix("table ")
        sys.stdout.write("".join(output.template(fmt, r) + "\n" for r in rows))
    else:
        output.table(["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"],
                     [[r["Name"], r["Image"], r["Command"], r["Service"], r["RunningFor"], r["Status"], r["Ports"]]
                      for r in rows])
    return 0


def logs(api: Api, args: argparse.Namespace) -> int:
    import queue

    from .compose_logs import Printer, dump, follow

    project = project_of(args, explicit=args.services)
    check_services(project, args.services)
    found = state.of_services(state.containers(api, project.name, oneoff=None), args.services)
    containers = [(c.id, c.name.removeprefix(project.name + "-")) for c, _ in found]
    tail = -1 if args.tail in ("all", "-1") else int(args.tail)
    printer = Printer([n for _, n in containers], prefix=not args.no_log_prefix, timestamps=args.timestamps)
    if not args.follow:
        dump(api, printer, containers, tail=tail, since=args.since)
        return 0
    done: queue.Queue[tuple[str, str]] = queue.Queue()
    for cid, name in containers:
        follow(api, printer, cid, name, tail=tail, since=args.since, done=done)
    for _ in containers:
        done.get()
    return 0


def config(api: Api, args: argparse.Namespace) -> int:
    import yaml

    project = project_of(args)
    if args.quiet:
        return 0
    if args.list_services:
        sys.stdout.write("".join(f"{s}\n" for s in project.services))
    elif args.list_volumes:
        sys.stdout.write("".join(f"{v}\n" for v in project.volumes))
    elif args.list_profiles:
        names = sorted({p for s in project.all_services().values() for p in s.profiles})
        sys.stdout.write("".join(f"{p}\n" for p in names))
    elif args.format == "json":
        sys.stdout.write(json.dumps(project.tree, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(project.tree, sort_keys=False, default_flow_style=False))
    return 0


def top(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    check_services(project, args.services)
    for c, _ in state.of_services(state.containers(api, project.name, all=False), args.services):
        r = api.containers.top(c.id, [])
        sys.stdout.write(f"{c.name}\n")
        output.table(list(r.titles), [list(p.fields) + [""] * (len(r.titles) - len(p.fields)) for p in r.processes])
        sys.stdout.write("\n")
    return 0


def _one(api: Api, args: argparse.Namespace) -> tuple[Container, Existing]:
    project = project_of(args)
    check_services(project, [args.service])
    for c, e in state.containers(api, project.name, all=True):
        if e.service == args.service and e.number == args.index:
            return c, e
    raise ComposeError(f"service \"{args.service}\" is not running container #{args.index}")


def port(api: Api, args: argparse.Namespace) -> int:
    c, _ = _one(api, args)
    want = args.private_port if "/" in args.private_port else f"{args.private_port}/{args.protocol}"
    for b in api.networks.ports(c.id):
        if b.container_port == want:
            sys.stdout.write(f"{b.host_ip or '0.0.0.0'}:{b.host_port}\n")
            return 0
    raise ComposeError(f"no port {want} for container {c.name}")


def images(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    check_services(project, args.services)
    rows = []
    for c, _ in state.of_services(state.containers(api, project.name, oneoff=None), args.services):
        repo, _, tag = c.image.rpartition(":") if ":" in c.image.rsplit("/", 1)[-1] else (c.image, "", "latest")
        try:
            img = api.images.get(c.image)
            size, image_id = output.human_size(img.size), output.short_id(img.id)
        except Exception:  # noqa: BLE001 - an image removed since: shown without its size
            size, image_id = "", ""
        rows.append([c.name, repo, tag, image_id, size])
    if args.quiet:
        sys.stdout.write("".join(f"{r[3]}\n" for r in rows if r[3]))
        return 0
    output.table(["CONTAINER", "REPOSITORY", "TAG", "IMAGE ID", "SIZE"], rows)
    return 0


def events(api: Api, args: argparse.Namespace) -> int:
    project = project_of(args)
    check_services(project, args.services)
    for e in api.containers.events():
        try:
            c = api.containers.inspect(e.id)
        except Exception:  # noqa: BLE001 - gone already (destroy): judged by the event's own attributes
            attrs = dict(e.attributes)
        else:
            attrs = {**dict(c.labels), **dict(e.attributes)}
        if attrs.get(labels.PROJECT) != project.name:
            continue
        service = attrs.get(labels.SERVICE, "")
        if args.services and service not in args.services:
            continue
        if args.json:
            sys.stdout.write(json.dumps({"time": e.time, "type": e.type, "action": e.action, "id": e.id,
                                         "service": service, "attributes": dict(e.attributes)}) + "\n")
        else:
            extra = ", ".join(f"{k}={v}" for k, v in sorted(e.attributes.items()))
            sys.stdout.write(f"{e.time} {e.type} {e.action} {e.id} ({extra})\n")
        sys.stdout.flush()
    return 0


def ls(api: Api, args: argparse.Namespace) -> int:
    projects: dict[str, dict[str, Any]] = {}
    for c in api.containers.ls(all=True):
        name = c.labels.get(labels.PROJECT)
        if not name:
            continue
        p = projects.setdefault(name, {"Name": name, "states": {}, "ConfigFiles": c.labels.get(labels.CONFIG_FILES, "")})
        p["states"][c.status] = p["states"].get(c.status, 0) + 1
    rows = []
    for name in sorted(projects):
        p = projects[name]
        if not args.all and "running" not in p["states"]:
            continue
        status = ", ".join(f"{s}({n})" for s, n in sorted(p["states"].items()))
        rows.append({"Name": name, "Status": status, "ConfigFiles": p["ConfigFiles"]})
    if args.quiet:
        sys.stdout.write("".join(r["Name"] + "\n" for r in rows))
    elif args.format == "json":
        sys.stdout.write(json.dumps(rows) + "\n")
    else:
        output.table(["NAME", "STATUS", "CONFIG FILES"], [[r["Name"], r["Status"], r["ConfigFiles"]] for r in rows])
    return 0
