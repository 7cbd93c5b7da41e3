"""pull, push, login, logout."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyrunc_proto.pyrunc.images.v1.images_pb2 import Progress

    from ..api.types import RegistryAuth


def _auths() -> dict[str, RegistryAuth]:
    from .. import config

    try:
        creds = config.credentials()
    except ValueError as e:
        raise CLIError(str(e)) from None
    return {host: {"username": u, "password": p, "identity_token": t} for host, (u, p, t) in creds.items()}


def _stream(events: Iterable[Progress], quiet: bool) -> None:
    progress = output.Progress()
    for ev in events:
        if not quiet:
            progress.update(ev)


def pull(api: Api, args: argparse.Namespace) -> int:
    _stream(api.images.pull(args.name, platform=args.platform or "", auths=_auths()), args.quiet)
    img = api.images.get(args.name)
    name = args.name if ("@" in args.name or ":" in args.name.rsplit("/", 1)[-1]) else args.name + ":latest"
    sys.stdout.write((img.id if args.quiet else _full_name(name)) + "\n")
    return 0


def _full_name(name: str) -> str:
    """docker prints the canonical name last: docker.io/library/busybox:latest."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return "docker.io/" + (name if "/" in name else "library/" + name)


def push(api: Api, args: argparse.Namespace) -> int:
    _stream(api.images.push(args.name, auths=_auths()), args.quiet)
    return 0


def login(api: Api, args: argparse.Namespace) -> int:
    import getpass

    from .. import config

    server = config.normalize_server(args.server or "")
    username = args.username
    password = args.password
    if args.password_stdin:
        if password:
            raise CLIError("--password and --password-stdin are mutually exclusive")
        if not username:
            raise CLIError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if password and not args.password_stdin:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if not username:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device")
        username = input("Username: ").strip()
    if not password:
        if not sys.stdin.isatty():
            raise CLIError("Error: Cannot perform an interactive login from a non TTY device")
        password = getpass.getpass("Password: ")
    if not username or not password:
        raise CLIError("Error: Non-null Username and Password Required")
    status = api.images.login(server, {"username": username, "password": password})
    config.store(server, username, password)
    sys.stderr.write(f"WARNING! Your password will be stored unencrypted in {config.config_path()}.\n")
    sys.stdout.write(status + "\n")
    return 0


def logout(api: Api, args: argparse.Namespace) -> int:
    from .. import config

    server = config.normalize_server(args.server or "")
    if config.erase(server):
        sys.stdout.write(f"Removing login credentials for {server}\n")
    else:
        sys.stdout.write(f"Not logged in to {server}\n")
    return 0


def add_pull(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    p.add_argument("--platform", default="", help="os/arch[/variant] to pull from a multi-platform image")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    p.set_defaults(func=pull)


def add_push(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME[:TAG]")
    p.add_argument("-q", "--quiet", action="store_true", help="suppress verbose output")
    p.set_defaults(func=push)


def add_login(p: argparse.ArgumentParser) -> None:
    p.add_argument("server", nargs="?", default="")
    p.add_argument("-u", "--username", default="")
    p.add_argument("-p", "--password", default="")
    p.add_argument("--password-stdin", action="store_true", help="take the password from stdin")
    p.set_defaults(func=login)


def add_logout(p: argparse.ArgumentParser) -> None:
    p.add_argument("server", nargs="?", default="")
    p.set_defaults(func=logout)
