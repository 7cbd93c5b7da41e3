"""exec and attach: a process of a running container, its output relayed, its stdin and terminal on request."""

from __future__ import annotations

import argparse

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError
from .create_run import DAEMON_ERROR, env_file, refuse_tty_off_terminal, start_error, user
from .inspection import inspect_container

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..api.types import ExecConfig


def exec_(api: Api, args: argparse.Namespace) -> int:
    refuse_tty_off_terminal(args.tty, args.interactive)
    env = []
    for f in args.env_file:
        env += env_file(f)
    env += args.env
    config: ExecConfig = {"id": args.container, "cmd": args.cmd, "env": env, "workdir": args.workdir or "",
                          "user": user(args.user), "tty": args.tty, "interactive": args.interactive}
    try:
        if args.tty or args.interactive:
            from .terminal import attach

            return attach(api, {"id": args.container, "exec": config}, tty=args.tty, stdin=args.interactive)
        if (code := output.relay(api.containers.exec(config))) is not None:
            return code
    except ApiError as e:
        if e.code in ("NOT_FOUND", "FAILED_PRECONDITION"):
            raise CLIError(f"Error response from daemon: {e.message}") from None
        raise start_error(e) from None
    raise CLIError("pyctl: the daemon ended the stream before the process exited", DAEMON_ERROR)


def attach_(api: Api, args: argparse.Namespace) -> int:
    from .terminal import attach

    doc = inspect_container(api, args.container)
    if doc is None:
        raise CLIError(f"Error: No such container: {args.container}")
    cfg = doc["Config"]
    return attach(api, {"id": doc["Id"]}, tty=cfg["Tty"], stdin=cfg["OpenStdin"] and not args.no_stdin)


def add_exec(p: argparse.ArgumentParser) -> None:
    p.add_argument("-e", "--env", action="append", default=[], help="set an environment variable")
    p.add_argument("--env-file", action="append", default=[], help="read environment variables from a file")
    p.add_argument("-w", "--workdir", help="working directory")
    p.add_argument("-u", "--user", help="user[:group]")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("container")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=exec_)


def add_attach(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("container")
    p.set_defaults(func=attach_)
