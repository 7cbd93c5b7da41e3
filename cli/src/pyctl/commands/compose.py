"""`pyctl compose`: its flags and sub-commands. Only argparse here: the compose package (and PyYAML)
is imported by the sub-command that runs, never by another pyctl command."""

from __future__ import annotations

import argparse

from ..api import Api

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _lazy(module: str, function: str) -> Callable[[Api, argparse.Namespace], int]:
    def call(api: Api, args: argparse.Namespace) -> int:
        import importlib

        status: int = getattr(importlib.import_module(f"{__package__}.{module}"), function)(api, args)
        return status

    return call


def _services(p: argparse.ArgumentParser) -> None:
    p.add_argument("services", nargs="*", metavar="SERVICE")


def _up(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--detach", action="store_true", help="run the containers in the background")
    p.add_argument("--build", action="store_true", help="build images before starting the containers")
    p.add_argument("--force-recreate", action="store_true", help="recreate containers even if unchanged")
    p.add_argument("--no-recreate", action="store_true", help="keep existing containers even if changed")
    p.add_argument("--no-deps", action="store_true", help="don't start the linked services")
    p.add_argument("--scale", action="append", default=[], metavar="SERVICE=N", help="number of containers")
    p.add_argument("--wait", action="store_true", help="wait for services to be running or healthy (implies -d)")
    p.add_argument("--wait-timeout", type=int, default=0, help="seconds to wait with --wait")
    p.add_argument("--abort-on-container-exit", action="store_true", help="stop every container when one stops")
    p.add_argument("--remove-orphans", action="store_true", help="remove containers of services not in the file")
    p.add_argument("--no-start", action="store_true", help="create but do not start")
    p.add_argument("-t", "--timeout", type=int, help="shutdown timeout in seconds")
    _services(p)


def _down(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--volumes", action="store_true", help="remove named volumes and anonymous ones")
    p.add_argument("--rmi", choices=["local", "all"], help="remove images used by services")
    p.add_argument("--remove-orphans", action="store_true", help="remove containers of services not in the file")
    p.add_argument("-t", "--timeout", type=int, help="shutdown timeout in seconds")


def _ps(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show stopped containers too")
    p.add_argument("-q", "--quiet", action="store_true", help="only display IDs")
    p.add_argument("--format", default="table", help="table, json or a Go template")
    p.add_argument("--services", dest="list_services", action="store_true", help="display services")
    _services(p)


def _logs(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow log output")
    p.add_argument("-n", "--tail", default="all", help="lines from the end of each container's logs")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--no-log-prefix", action="store_true", help="don't print the service prefix")
    p.add_argument("--since", default="", help="since a time or a duration")
    _services(p)


def _config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--services", dest="list_services", action="store_true", help="print the service names, one per line")
    p.add_argument("--volumes", dest="list_volumes", action="store_true", help="print the volume names, one per line")
    p.add_argument("--profiles", dest="list_profiles", action="store_true", help="print the profile names, one per line")
    p.add_argument("-q", "--quiet", action="store_true", help="only validate the configuration")
    p.add_argument("--format", default="yaml", choices=["yaml", "json"])


def _exec(p: argparse.ArgumentParser) -> None:
    p.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="disable pseudo-TTY allocation")
    p.add_argument("-u", "--user", default="", help="run the command as this user")
    p.add_argument("-w", "--workdir", default="", help="working directory for the command")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--index", type=int, default=1, help="index of the container if there are several")
    p.add_argument("service")
    p.add_argument("cmd", nargs=argparse.REMAINDER)


def _run(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--detach", action="store_true", help="run the container in the background")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--no-deps", action="store_true", help="don't start the linked services")
    p.add_argument("--name", default="", help="a name for the container")
    p.add_argument("--entrypoint", help="override the entrypoint")
    p.add_argument("-u", "--user", default="", help="run as this user")
    p.add_argument("-w", "--workdir", default="", help="working directory")
    p.add_argument("-T", "--no-TTY", dest="no_tty", action="store_true", help="disable pseudo-TTY allocation")
    p.add_argument("-i", "--interactive", action="store_true", default=False, help="keep STDIN open")
    p.add_argument("service")
    p.add_argument("cmd", nargs=argparse.REMAINDER)


def _build(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-cache", action="store_true", help="do not use the cache")
    p.add_argument("--pull", action="store_true", help="always pull the base images")
    p.add_argument("-q", "--quiet", action="store_true", help="do not show the builder's output")
    _services(p)


def _timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--timeout", type=int, help="seconds to wait before killing")
    _services(p)


def _rm(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--force", action="store_true", help="don't ask to confirm")
    p.add_argument("-s", "--stop", action="store_true", help="stop the containers first")
    p.add_argument("-v", "--volumes", action="store_true", help="remove anonymous volumes")
    _services(p)


def _kill(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--signal", default="SIGKILL", help="signal to send")
    _services(p)


def _port(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", type=int, default=1, help="index of the container if there are several")
    p.add_argument("--protocol", default="tcp", choices=["tcp", "udp"])
    p.add_argument("service")
    p.add_argument("private_port", metavar="PRIVATE_PORT")


def _ls(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show stopped projects too")
    p.add_argument("-q", "--quiet", action="store_true", help="only display project names")
    p.add_argument("--format", default="table", choices=["table", "json"])


def _images(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="only display IDs")
    _services(p)


def _events(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    _services(p)


_COMMANDS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], str, str]] = [
    ("up", "create and start containers", _up, "compose_up", "up"),
    ("down", "stop and remove containers, networks (and with -v volumes)", _down, "compose_up", "down"),
    ("create", "create containers for services", _up, "compose_up", "create"),
    ("ps", "list the project's containers", _ps, "compose_view", "ps"),
    ("logs", "view output from containers", _logs, "compose_view", "logs"),
    ("config", "print the resolved model as YAML", _config, "compose_view", "config"),
    ("top", "display the running processes", _services, "compose_view", "top"),
    ("port", "print the public port of a port binding", _port, "compose_view", "port"),
    ("images", "list images used by the created containers", _images, "compose_view", "images"),
    ("events", "receive real-time events from containers", _events, "compose_view", "events"),
    ("ls", "list running compose projects", _ls, "compose_view", "ls"),
    ("exec", "run a command in a running container", _exec, "compose_ops", "exec_"),
    ("run", "run a one-off command on a service", _run, "compose_ops", "run"),
    ("start", "start services", _services, "compose_ops", "start"),
    ("stop", "stop services", _timeout, "compose_ops", "stop"),
    ("restart", "restart service containers", _timeout, "compose_ops", "restart"),
    ("rm", "remove stopped service containers", _rm, "compose_ops", "rm"),
    ("kill", "force stop service containers", _kill, "compose_ops", "kill"),
    ("pause", "pause services", _services, "compose_ops", "pause"),
    ("unpause", "unpause services", _services, "compose_ops", "unpause"),
    ("pull", "pull service images", _services, "compose_ops", "pull"),
    ("push", "push service images", _services, "compose_ops", "push"),
    ("build", "build or rebuild services", _build, "compose_ops", "build"),
]


def add_compose(p: argparse.ArgumentParser) -> None:
    # dests prefixed: the sub-commands have flags of the same names (config --profiles, run --env-file...)
    p.add_argument("-f", "--file", dest="compose_files", action="append", default=[], help="compose configuration files")
    p.add_argument("-p", "--project-name", dest="compose_project_name", default="", help="project name")
    p.add_argument("--project-directory", dest="compose_project_directory", default="",
                   help="alternate working directory (default: the first file's)")
    p.add_argument("--env-file", dest="compose_env_files", action="append", default=[],
                   help="alternate environment files")
    p.add_argument("--profile", dest="compose_profiles", action="append", default=[], help="profiles to enable")
    sub = p.add_subparsers(dest="compose_command", metavar="COMMAND", required=True)
    for name, text, add, module, function in _COMMANDS:
        c = sub.add_parser(name, help=text)
        add(c)
        c.set_defaults(func=_lazy(module, function))
