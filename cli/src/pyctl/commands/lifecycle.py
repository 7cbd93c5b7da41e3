"""start, stop, kill, rm, restart, pause, unpause, rename, wait and container prune."""

import argparse
import sys
from collections.abc import Callable

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError
from .create_run import proxy_signals, start_error
from .inspection import inspect_container

_AT_ONCE = 50  # the docker CLI's parallelOperation runs this many calls together


def _no_undo() -> None:
    pass


def _each_at_once(api: Api, names: list[str], call: Callable[[Api, str], object], *, forgive: str = "") -> int:
    """The docker CLI's rm, stop, kill, pause and unpause of many names: up to 50 calls together, each
    worker on connections of its own (one carries one call at a time), each name or error printed in
    the order given as soon as it and those before it are done (output.each's lines and status)."""
    if len(names) <= 1:
        return output.each(names, lambda name: call(api, name), forgive=forgive)
    from ..api.parallel import each_at_once

    with each_at_once(api, names, call, _AT_ONCE) as futures:
        results = iter(futures)
        return output.each(names, lambda _name: next(results).result(), forgive=forgive)


def start(api: Api, args: argparse.Namespace) -> int:
    if args.attach or args.interactive:
        from .terminal import attach

        if len(args.containers) != 1:
            raise CLIError("you cannot start and attach multiple containers at once")
        doc = inspect_container(api, args.containers[0])
        if doc is None:
            raise CLIError(f"Error response from daemon: No such container: {args.containers[0]}")
        tty, stdin = doc["Config"]["Tty"], args.interactive and doc["Config"]["OpenStdin"]
        restore = _no_undo if tty else proxy_signals(api, doc["Id"])
        try:
            return attach(api, {"id": doc["Id"], "start": True}, tty=tty, stdin=stdin)
        except ApiError as e:
            raise start_error(e) from None
        finally:
            restore()
    return output.each(args.containers, api.containers.start)


def stop(api: Api, args: argparse.Namespace) -> int:
    return _each_at_once(api, args.containers, lambda own, name: own.containers.stop(name, args.time))


def kill(api: Api, args: argparse.Namespace) -> int:
    return _each_at_once(api, args.containers, lambda own, name: own.containers.kill(name, args.signal))


def rm(api: Api, args: argparse.Namespace) -> int:
    # docker's rm -f of a name that is not there says so and still exits 0
    return _each_at_once(api, args.containers,
                         lambda own, name: own.containers.remove(name, force=args.force, volumes=args.volumes),
                         forgive="NOT_FOUND" if args.force else "")


def restart(api: Api, args: argparse.Namespace) -> int:
    return output.each(args.containers, lambda name: api.containers.restart(name, args.time))


def pause(api: Api, args: argparse.Namespace) -> int:
    return _each_at_once(api, args.containers, lambda own, name: own.containers.pause(name))


def unpause(api: Api, args: argparse.Namespace) -> int:
    return _each_at_once(api, args.containers, lambda own, name: own.containers.unpause(name))


def rename(api: Api, args: argparse.Namespace) -> int:
    api.containers.rename(args.container, args.new_name)
    return 0


def wait(api: Api, args: argparse.Namespace) -> int:
    status = 0
    for name in args.containers:
        try:
            sys.stdout.write(f"{api.containers.wait(name)}\n")
            sys.stdout.flush()
        except ApiError as e:
            sys.stderr.write(f"Error response from daemon: {e.message}\n")
            status = 1
    return status


def prune(api: Api, args: argparse.Namespace) -> int:
    if not args.force and not output.confirm("This will remove all stopped containers."):
        return 0
    r = api.containers.prune()
    if r.deleted:
        sys.stdout.write("Deleted Containers:\n" + "".join(i + "\n" for i in r.deleted) + "\n")
    sys.stdout.write(f"Total reclaimed space: {output.human_size(r.space_reclaimed)}\n")
    return 0


# ---- argument parsers


def _names(p: argparse.ArgumentParser, func: object) -> None:
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=func)


def _stop_time(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait before killing (default 10)")


def add_start(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach its output; exit with its exit code")
    p.add_argument("-i", "--interactive", action="store_true", help="attach its STDIN")
    _names(p, start)


def add_stop(p: argparse.ArgumentParser) -> None:
    _stop_time(p)
    _names(p, stop)


def add_kill(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--signal", default="", help="signal to send (default KILL)")
    _names(p, kill)


def add_rm(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    p.add_argument("-v", "--volumes", action="store_true", help="remove its anonymous volumes too")
    _names(p, rm)


def add_restart(p: argparse.ArgumentParser) -> None:
    _stop_time(p)
    _names(p, restart)


def add_pause(p: argparse.ArgumentParser) -> None:
    _names(p, pause)


def add_unpause(p: argparse.ArgumentParser) -> None:
    _names(p, unpause)


def add_rename(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.add_argument("new_name")
    p.set_defaults(func=rename)


def add_wait(p: argparse.ArgumentParser) -> None:
    _names(p, wait)


def add_prune(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=prune)
