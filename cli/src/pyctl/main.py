"""pyctl: a docker-like CLI for pyruncd. argv -> the command function; nothing else."""

import argparse
import os
import sys

from .api import Api, ApiError
from .argv import bool_values, overview
from .commands import (
    archive,
    build,
    commit,
    compose,
    copy,
    create_run,
    exec_attach,
    images,
    inspection,
    lifecycle,
    networks,
    registry,
    stats,
    system,
    volumes,
)
from .errors import CLIError

DEFAULT_HOST = "unix:///run/pyruncd/pyruncd.sock"

_CONTAINER_COMMANDS = [
    (["run"], create_run.add_run, "create and start a container"),
    (["create"], create_run.add_create, "create a container"),
    (["start"], lifecycle.add_start, "start containers"),
    (["stop"], lifecycle.add_stop, "stop containers (their stop signal, then SIGKILL)"),
    (["kill"], lifecycle.add_kill, "send a signal to containers"),
    (["rm"], lifecycle.add_rm, "remove containers"),
    (["logs"], inspection.add_logs, "show a container's output"),
    (["wait"], lifecycle.add_wait, "wait for containers to exit; print their exit codes"),
    (["exec"], exec_attach.add_exec, "run a command in a running container"),
    (["attach"], exec_attach.add_attach, "attach to a running container's input and output"),
    (["restart"], lifecycle.add_restart, "stop then start containers"),
    (["pause"], lifecycle.add_pause, "freeze every process of containers"),
    (["unpause"], lifecycle.add_unpause, "thaw paused containers"),
    (["rename"], lifecycle.add_rename, "rename a container"),
    (["top"], inspection.add_top, "show a container's processes"),
    (["cp"], copy.add_cp, "copy files between a container and the local filesystem"),
    (["port"], networks.add_port, "list a container's published ports"),
    (["update"], stats.add_update, "update the resources and restart policy of containers"),
    (["stats"], stats.add_stats, "show a live stream of containers' resource usage"),
    (["commit"], commit.add_commit, "create a new image from a container's changes"),
    (["diff"], commit.add_diff, "inspect changes to files or directories on a container's filesystem"),
    (["export"], commit.add_export, "export a container's filesystem as a tar archive"),
]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """`only`: the command given, when known: the other commands' parsers are not built (~20 ms)."""

    def want(*names: str) -> bool:
        return only is None or only in names

    p = argparse.ArgumentParser(prog="pyctl", description="A docker-like CLI for pyruncd")
    p.add_argument("-H", "--host", default=None, help="daemon socket (unix://PATH); default $PYRUNCD_HOST or "
                   "unix:///run/pyruncd/pyruncd.sock")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    if want("image"):
        image = sub.add_parser("image", help="manage images")
        isub = image.add_subparsers(dest="image_command", metavar="COMMAND", required=True)
        for names, add, text in [
            (["ls", "list"], images.add_ls, "list images"),
            (["build"], build.add_build, "build an image from a Dockerfile"),
            (["inspect"], images.add_inspect, "show an image's details as JSON"),
            (["history"], images.add_history, "show an image's history"),
            (["tag"], images.add_tag, "create a tag TARGET that refers to SOURCE"),
            (["rm"], images.add_rmi, "remove images"),
            (["prune"], images.add_prune, "remove unused images"),
            (["pull"], registry.add_pull, "download an image from a registry"),
            (["push"], registry.add_push, "upload an image to a registry"),
            (["save"], archive.add_save, "save images to a tar archive"),
            (["load"], archive.add_load, "load images from a tar archive or OCI layout"),
            (["import"], commit.add_import, "import the contents from a tarball to create a filesystem image"),
        ]:
            add(isub.add_parser(names[0], aliases=names[1:], help=text))

    if want("container"):
        container = sub.add_parser("container", help="manage containers")
        csub = container.add_subparsers(dest="container_command", metavar="COMMAND", required=True)
        for names, add, text in _CONTAINER_COMMANDS + [(["ls", "list", "ps"], inspection.add_ps, "list containers"),
                                                       (["inspect"], lambda p: inspection.add_inspect(p, "container"),
                                                        "show containers' details as JSON"),
                                                       (["prune"], lifecycle.add_prune, "remove stopped containers")]:
            add(csub.add_parser(names[0], aliases=names[1:], help=text, add_help=names[0] not in ("create", "run")))

    if want("builder"):
        builder = sub.add_parser("builder", help="manage builds")
        bsub = builder.add_subparsers(dest="builder_command", metavar="COMMAND", required=True)
        build.add_build(bsub.add_parser("build", help="build an image from a Dockerfile"))
        build.add_prune(bsub.add_parser("prune", help="remove the build cache"))

    if want("system"):
        system_group = sub.add_parser("system", help="manage pyruncd")
        ssub = system_group.add_subparsers(dest="system_command", metavar="COMMAND", required=True)
        system.add_df(ssub.add_parser("df", help="show pyruncd's disk usage"))
        system.add_info(ssub.add_parser("info", help="display system-wide information"))

    if want("volume"):
        volume = sub.add_parser("volume", help="manage volumes")
        vsub = volume.add_subparsers(dest="volume_command", metavar="COMMAND", required=True)
        for names, add, text in [
            (["create"], volumes.add_create, "create a volume"),
            (["ls", "list"], volumes.add_ls, "list volumes"),
            (["inspect"], volumes.add_inspect, "show volumes' details as JSON"),
            (["rm", "remove"], volumes.add_rm, "remove volumes"),
            (["prune"], volumes.add_prune, "remove unused volumes"),
        ]:
            add(vsub.add_parser(names[0], aliases=names[1:], help=text))

    for names, add, text in _CONTAINER_COMMANDS + [(["ps"], inspection.add_ps, "list containers"),
                                                   (["events"], inspection.add_events, "get real time events from the daemon")]:
        if want(names[0]):
            add(sub.add_parser(names[0], help=text, add_help=names[0] not in ("create", "run")))

    for name, add, text in [
        ("images", images.add_ls, "list images"),
        ("build", build.add_build, "build an image from a Dockerfile"),
        ("inspect", inspection.add_inspect, "show containers' or images' details as JSON"),
        ("history", images.add_history, "show an image's history"),
        ("tag", images.add_tag, "create a tag TARGET that refers to SOURCE"),
        ("rmi", images.add_rmi, "remove images"),
        ("pull", registry.add_pull, "download an image from a registry"),
        ("push", registry.add_push, "upload an image to a registry"),
        ("save", archive.add_save, "save images to a tar archive"),
        ("load", archive.add_load, "load images from a tar archive or OCI layout"),
        ("import", commit.add_import, "import the contents from a tarball to create a filesystem image"),
        ("login", registry.add_login, "log in to a registry"),
        ("logout", registry.add_logout, "log out from a registry"),
        ("info", system.add_info, "display system-wide information"),
        ("version", system.add_version, "show the pyctl and pyruncd versions"),
    ]:
        if want(name):
            add(sub.add_parser(name, help=text))
    if want("network"):
        networks.add_network_commands(sub)
    if want("compose"):
        compose.add_compose(sub.add_parser("compose", help="define and run multi-container applications"))
    if only is not None and only not in sub.choices:  # not a command: argparse's error lists them all
        return build_parser()
    return p


def _command(argv: list[str]) -> str | None:
    """The command word of argv (after -H/--host), or None."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-H", "--host"):
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return arg
    return None


def resolve_host(flag: str | None) -> str:
    """-H/--host, else $PYRUNCD_HOST, else the default socket."""
    host = flag or os.environ.get("PYRUNCD_HOST") or DEFAULT_HOST
    if not host.startswith("unix://") or host == "unix://":
        raise CLIError(f"invalid host {host!r}: want unix:///path/to/pyruncd.sock")
    return host


def daemon_error(e: ApiError, host: str) -> str:
    """Docker's wording: daemon errors as "Error response from daemon: ...", a dead socket as such."""
    if e.cannot_connect():
        return f"Cannot connect to the pyruncd daemon at {host}. Is the pyruncd daemon running?"
    return f"Error response from daemon: {e.message}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = _command(argv)
    if command is None and not {"-h", "--help"} & set(argv[:1]):
        # as the docker CLI: the overview on stderr, and success (--help: on stdout, below)
        sys.stderr.write(overview(build_parser()))
        return 0
    if command is None:
        sys.stdout.write(overview(build_parser()))
        return 0
    parser = build_parser(command)
    try:
        args = parser.parse_args(bool_values(parser, argv))
    except CLIError as e:
        sys.stderr.write(f"{e}\n")
        return e.status
    host = ""
    api = None
    try:
        host = resolve_host(args.host)
        api = Api(host.removeprefix("unix://"))
        status: int = args.func(api, args)
        return status
    except CLIError as e:
        sys.stderr.write(f"{e}\n")
        return e.status
    except ApiError as e:
        sys.stderr.write(daemon_error(e, host) + "\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 1
    finally:
        if api is not None:
            api.close()


def run() -> None:
    """The console script: skip interpreter teardown (~5 ms of every command) once output is out."""
    import os

    try:
        code = main()
    except SystemExit as e:  # argparse's --help and usage errors
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            sys.stderr.write(f"{e.code}\n")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
