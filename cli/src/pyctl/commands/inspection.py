"""Looking at containers: ps, inspect (containers, then images), logs, top and events."""

from __future__ import annotations

import argparse
import json
import sys

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError
from . import networks
from . import stats as limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyrunc_proto.pyrunc.containers.v1.containers_pb2 import Container


def _status(c: Container) -> str:
    if c.status == "running":
        return "Up " + output.human_duration(_age(c.started_at)) + limits.status_suffix(json.loads(c.inspect_json))
    if c.status == "restarting":
        return f"Restarting ({c.exit_code}) {output.since(c.finished_at)}"
    if c.status == "paused":
        return "Up " + output.human_duration(_age(c.started_at)) + " (Paused)"
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {output.since(c.finished_at)}"
    return c.status.capitalize()


def _age(text: str) -> float:
    import datetime

    t = output.parse_time(text)
    return (datetime.datetime.now(datetime.UTC) - t).total_seconds() if t else 0


def _filters(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for f in items:
        k, eq, v = f.partition("=")
        if not eq or k not in ("name", "status", "id", "label"):
            raise CLIError(f"invalid filter {f!r}: want name=, status=, id= or label=")
        out.append((k, v))
    return out


def _matches(c: Container, filters: list[tuple[str, str]]) -> bool:
    by: dict[str, list[bool]] = {}
    for k, v in filters:
        ok = {"name": v in c.name, "status": c.status == v, "id": c.id.startswith(v),
              "label": (c.labels.get(v.partition("=")[0]) == v.partition("=")[2]) if "=" in v else v in c.labels}[k]
        by.setdefault(k, []).append(ok)
    return all(any(v) for v in by.values())  # as docker: OR within a key, AND across keys


def ps(api: Api, args: argparse.Namespace) -> int:
    filters = _filters(args.filter)
    show_all = args.all or any(k == "status" for k, _ in filters)
    cs = [c for c in api.containers.ls(all=show_all) if _matches(c, filters)]
    if args.quiet:
        sys.stdout.write("".join((c.id if args.no_trunc else c.id[:12]) + "\n" for c in cs))
        return 0
    rows = []
    for c in cs:
        cmd = c.command if args.no_trunc or len(c.command) <= 20 else c.command[:19] + "…"
        rows.append({"ID": c.id if args.no_trunc else c.id[:12], "Image": c.image,
                     "Command": json.dumps(cmd, ensure_ascii=False), "CreatedAt": c.created,
                     "RunningFor": output.since(c.created), "Status": _status(c), "State": c.status, "Names": c.name,
                     "Ports": networks.ports_column(c.inspect_json),
                     "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items()))})
    output.listing(args.format, rows, ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
                   ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"])
    return 0


def logs(api: Api, args: argparse.Namespace) -> int:
    tail = -1 if args.tail in ("all", "-1") else int(args.tail)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for e in api.containers.logs(args.container, follow=args.follow, tail=tail, since=args.since or ""):
        f = err if e.stream == "stderr" else out
        f.write((e.time.encode() + b" " if args.timestamps else b"") + e.data)
        f.flush()
    return 0


def inspect_container(api: Api, name: str) -> dict[str, Any] | None:
    """`docker inspect`'s document (Any: JSON), or None when there is no such container."""
    try:
        doc: dict[str, Any] = json.loads(api.containers.inspect(name).inspect_json)
    except ApiError as e:
        if e.code != "NOT_FOUND":
            raise
        return None
    return doc


def inspect(api: Api, args: argparse.Namespace) -> int:
    """Containers first, then images, as `docker inspect` looks them up."""
    from .images import inspect_doc

    docs, kinds, status = [], [], 0
    for name in args.names:
        doc = inspect_container(api, name) if args.type in ("", "container") else None
        kind = "container"
        if doc is None and args.type in ("", "image"):
            kind = "image"
            try:
                doc = inspect_doc(api.images.get(name))
            except ApiError as e:
                if e.code != "NOT_FOUND":
                    raise
        if doc is None:
            # docker says "No such object"; the image wording is kept for the image commands' users
            sys.stderr.write(f"Error: No such {'container' if args.type == 'container' else 'image'}: {name}\n")
            status = 1
            continue
        docs.append(doc)
        kinds.append(kind)
    output.inspect_docs(docs, args.format, kinds)
    return status


def top(api: Api, args: argparse.Namespace) -> int:
    r = api.containers.top(args.container, args.ps_args)
    output.table(list(r.titles), [list(p.fields) + [""] * (len(r.titles) - len(p.fields)) for p in r.processes],
                 minwidth=20)
    return 0


def events(api: Api, args: argparse.Namespace) -> int:
    """docker's `events`: one line per event, or --format (a Go template over docker's message, or json)."""
    from .eventtime import timestamp

    stream = api.containers.events(since=timestamp(args.since), until=timestamp(args.until), filters=args.filter)
    for e in stream:
        message = {"status": e.action if e.type in ("container", "image") else "", "id": e.id,
                   "from": e.attributes.get("image", ""), "Type": e.type, "Action": e.action,
                   "Actor": {"ID": e.id, "Attributes": dict(e.attributes)}, "scope": "local",
                   "time": e.time_nano // 1_000_000_000, "timeNano": e.time_nano}
        if e.type not in ("container", "image"):  # (dockerd omits id too; kept: scripts read it)
            del message["status"], message["from"]
        if args.format == "json":
            sys.stdout.write(json.dumps(message) + "\n")
        elif args.format:
            sys.stdout.write(output.template(args.format, message) + "\n")
        else:
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(e.attributes.items()))
            sys.stdout.write(f"{e.time} {e.type} {e.action} {e.id} ({attrs})\n" if attrs else
                             f"{e.time} {e.type} {e.action} {e.id}\n")
        sys.stdout.flush()
    return 0


# ---- argument parsers


def add_ps(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default: running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only show container IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="name=, status=, id=, label=")
    p.add_argument("--format", default="", help="json (one JSON object per line), table or a Go template")
    p.set_defaults(func=ps)


def add_logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow the output")
    p.add_argument("-n", "--tail", default="all", help="lines from the end (default all)")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--since", help="since a time (RFC 3339, unix) or a duration (10m)")
    p.add_argument("container")
    p.set_defaults(func=logs)


def add_inspect(p: argparse.ArgumentParser, type_: str = "") -> None:
    p.add_argument("-f", "--format", default="", help="a Go template ({{.State.Running}}, {{json .Config}}, {{range ...}})")
    if not type_:
        p.add_argument("--type", default="", choices=["", "container", "image"])
    else:
        p.set_defaults(type=type_)
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(func=inspect)


def add_top(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, help="ps options (default -ef)")
    p.set_defaults(func=top)


def add_events(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--filter", action="append", default=[],
                   help="type=, event=, container=, network=, volume=, image=, label= (repeatable)")
    p.add_argument("--since", default="", help="show the kept events from then (a timestamp or a duration: 10m)")
    p.add_argument("--until", default="", help="stream until then (a timestamp or a duration)")
    p.add_argument("--format", default="", help="json, or a Go template ({{.Type}} {{.Action}} {{.Actor.ID}})")
    p.set_defaults(func=events)
