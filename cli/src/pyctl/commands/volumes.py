"""volume create, ls, inspect, rm, prune."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc_proto.pyrunc.volumes.v1.volumes_pb2 import Volume


def inspect_doc(v: Volume) -> dict[str, object]:
    """A volume as `docker volume inspect` shows it."""
    return {"CreatedAt": v.created_at, "Driver": v.driver, "Labels": dict(v.labels) or None,
            "Mountpoint": v.mountpoint, "Name": v.name, "Options": None, "Scope": v.scope}


def _labels(items: list[str]) -> dict[str, str]:
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


def create(api: Api, args: argparse.Namespace) -> int:
    if args.name and args.name_flag and args.name != args.name_flag:
        raise CLIError("conflicting options: either specify --name or provide positional arg, not both")
    v = api.volumes.create(args.name or args.name_flag or "", driver=args.driver, labels=_labels(args.label))
    sys.stdout.write(v.name + "\n")
    return 0


def ls(api: Api, args: argparse.Namespace) -> int:
    vols = api.volumes.ls(args.filter)
    if args.quiet:
        sys.stdout.write("".join(v.name + "\n" for v in vols))
    else:
        rows = [{"Driver": v.driver, "Labels": ",".join(f"{k}={x}" for k, x in sorted(v.labels.items())),
                 "Mountpoint": v.mountpoint, "Name": v.name, "Scope": v.scope} for v in vols]
        output.listing(args.format, rows, ["DRIVER", "VOLUME NAME"], ["Driver", "Name"])
    return 0


def inspect(api: Api, args: argparse.Namespace) -> int:
    docs, status = [], 0
    for name in args.names:
        try:
            docs.append(inspect_doc(api.volumes.inspect(name)))
        except ApiError as e:
            if e.code != "NOT_FOUND":
                raise
            sys.stderr.write(f"Error response from daemon: {e.message}\n")
            status = 1
    output.inspect_docs(docs, args.format, ["volume"] * len(docs))
    return status


def rm(api: Api, args: argparse.Namespace) -> int:
    return output.each(args.names, lambda name: api.volumes.remove(name, force=args.force))


def prune(api: Api, args: argparse.Namespace) -> int:
    which = "all local volumes" if args.all else "anonymous local volumes"
    if not args.force and not output.confirm(f"This will remove {which} not used by at least one container."):
        return 0
    r = api.volumes.prune(all=args.all, filters=args.filter)
    if r.deleted:
        sys.stdout.write("Deleted Volumes:\n" + "".join(n + "\n" for n in r.deleted) + "\n")
    sys.stdout.write(f"Total reclaimed space: {output.human_size(r.space_reclaimed)}\n")
    return 0


def add_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", default="", metavar="VOLUME")
    p.add_argument("--name", dest="name_flag", default="", help="the volume's name")
    p.add_argument("-d", "--driver", default="local", help="volume driver name (local)")
    p.add_argument("--label", action="append", default=[], help="set metadata for a volume (KEY=VALUE)")
    p.set_defaults(func=create)


def add_ls(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    p.add_argument("-f", "--filter", action="append", default=[], help="dangling=, name=, label=, driver=")
    p.add_argument("--format", default="", help="json (one JSON object per line), table or a Go template")
    p.set_defaults(func=ls)


def add_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--format", default="", help="a Go template ({{.State.Running}}, {{json .Config}}, {{range ...}})")
    p.add_argument("names", nargs="+", metavar="VOLUME")
    p.set_defaults(func=inspect)


def add_rm(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="no error when a volume does not exist")
    p.add_argument("names", nargs="+", metavar="VOLUME")
    p.set_defaults(func=rm)


def add_prune(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="remove all unused volumes, not just anonymous ones")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("--filter", action="append", default=[], help="label=")
    p.set_defaults(func=prune)
