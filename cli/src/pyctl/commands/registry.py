"""pull, push, login, logout."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TextIO

    from pyrunc_proto.pyrunc.images.v1.images_pb2 import Progress

    from ..api.types import RegistryAuth


def _auths() -> dict[str, RegistryAuth]:
    from .. import config

    try:
        creds = config.credentials()
    except ValueError as e:
        raise CLIError(str(e)) from None
    return {host: {"username": u, "password": p, "identity_token": t} for host, (u, p, t) in creds.items()}


def _stream(events: Iterable[Progress], progress: output.Progress | None) -> None:
    """Show the progress (none when quiet). As dockerd answers an error before any output as a failed
    request and one after as a line of the stream, the first is the daemon's (ApiError) and the
    second is shown as the stream's own words (CLIError)."""
    started = False
    try:
        for ev in events:
            started = True
            if progress is not None:
                progress.update(ev)
    except ApiError as e:
        if not started or e.cannot_connect():
            raise
        raise CLIError(e.message) from None


def named(name: str) -> bool:
    """Whether a reference names a tag or a digest (docker's !IsNameOnly)."""
    return "@" in name or ":" in name.rsplit("/", 1)[-1]


def familiar(name: str) -> str:
    """docker's short form of a reference, with :latest when it names neither tag nor digest:
    busybox, docker.io/library/busybox -> busybox:latest."""
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        if first not in ("docker.io", "index.docker.io"):
            return name if named(name) else name + ":latest"
        name = rest
    if name.startswith("library/") and name.count("/") == 1:
        name = name.removeprefix("library/")
    return name if named(name) else name + ":latest"


def pull_image(api: Api, name: str, *, platform: str = "", out: TextIO | None = None) -> None:
    """Pull `name` with docker's progress on `out` (None: quiet). ApiError if the daemon refused the
    pull, CLIError with the stream's words if it failed once started."""
    _stream(api.images.pull(name, platform=platform, auths=_auths()), None if out is None else output.Progress(out))


def pull(api: Api, args: argparse.Namespace) -> int:
    name = args.name
    if not named(name):
        name += ":latest"
        if not args.quiet:
            sys.stdout.write("Using default tag: latest\n")
    pull_image(api, name, platform=args.platform or "", out=None if args.quiet else sys.stdout)
    img = api.images.get(name)
    sys.stdout.write((img.id if args.quiet else _full_name(name)) + "\n")
    return 0


def _full_name(name: str) -> str:
    """docker prints the canonical name last: docker.io/library/busybox:latest."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return "docker.io/" + (name if "/" in name else "library/" + name)


def push(api: Api, args: argparse.Namespace) -> int:
    name = args.name
    if args.all_tags and named(name):
        raise CLIError("tag can't be used with --all-tags/-a")
    if not args.all_tags and not named(name):
        name += ":latest"
        if not args.quiet:
            sys.stdout.write("Using default tag: latest\n")
    _stream(api.images.push(name, all_tags=args.all_tags, auths=_auths()), None if args.quiet else output.Progress())
    if args.quiet:
        sys.stdout.write(_full_name(name) + "\n")
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
    p.add_argument("-a", "--all-tags", action="store_true", help="push all tags of the repository")
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
