"""create and run: their flags, the container's configuration from them, and run's foreground."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api, ApiError
from ..errors import CLIError
from . import networks
from . import stats as limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from ..api.types import ContainerConfig

# docker's exit statuses for a run that never got to the command
DAEMON_ERROR, CANNOT_INVOKE, NOT_FOUND = 125, 126, 127


def start_error(e: ApiError) -> CLIError:
    """docker's run/exec statuses: 127 when the command is missing, 126 when it cannot be run."""
    low = e.message.lower()
    status = NOT_FOUND if ("not found" in low or "no such file" in low) else (
        CANNOT_INVOKE if "permission denied" in low or "exec format" in low else DAEMON_ERROR)
    return CLIError(f"pyctl: Error response from daemon: {e.message}", status)


def env_file(path: str) -> list[str]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(line)
    except OSError as e:
        raise CLIError(f"open {path}: {e.strerror}", DAEMON_ERROR) from None
    return out


def _env(args: argparse.Namespace) -> list[str]:
    import os

    out = []
    for f in args.env_file:
        out += env_file(f)
    for item in args.env:
        # as docker: -e NAME alone passes the caller's value, or drops it when unset
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


def labels(items: list[str]) -> dict[str, str]:
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


# the docker CLI's whitelist (opts.ValidateSysctl); the daemon then checks the network mode
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                "kernel.shmmni", "kernel.shm_rmid_forced")


def sysctls(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not (key in _IPC_SYSCTLS or key.startswith(("net.", "fs.mqueue."))):
            raise CLIError(f'invalid argument "{item}" for "--sysctl" flag: sysctl \'{item}\' is not whitelisted',
                           DAEMON_ERROR)
        out[key] = value
    return out


_MAX_ID = 2147483647  # above it, the kernel's setresuid(-1) would leave the process root


def user(text: str | None) -> str:
    """-u user[:group]: numeric ids in range, as runc and docker refuse them."""
    for part in (text or "").split(":", 1):
        if part.lstrip("-").isdigit() and not 0 <= int(part) <= _MAX_ID:
            raise CLIError(f'invalid argument "{text}" for "-u, --user" flag: uids and gids must be in range '
                           f"0-{_MAX_ID}", DAEMON_ERROR)
    return text or ""


def _create(api: Api, args: argparse.Namespace) -> str:
    limits.check_run(args)
    config: ContainerConfig = {
        "image": args.image, "name": args.name or "", "cmd": args.cmd, "env": _env(args),
        "workdir": args.workdir or "", "user": user(args.user), "hostname": args.hostname or "",
        "labels": labels(args.label), "tty": args.tty, "open_stdin": args.interactive,
        "network": args.network or "", "runtime": args.runtime or "", "auto_remove": getattr(args, "rm", False),
        "volumes": args.volume, "mounts": args.mount, "tmpfs": args.tmpfs, "volumes_from": args.volumes_from,
        "log_opts": args.log_opt, "sysctls": sysctls(args.sysctl), "stop_signal": args.stop_signal or "",
        "group_add": args.group_add}
    if args.stop_timeout is not None:
        config["stop_timeout"], config["stop_timeout_set"] = args.stop_timeout, True
    config.update(limits.config_fields(args))
    config.update(networks.config_fields(args))
    if args.entrypoint is not None:
        config["entrypoint_set"] = True
        config["entrypoint"] = [args.entrypoint] if args.entrypoint else []
    if args.pull not in PULL_POLICIES:
        raise CLIError(f"pyctl: invalid pull option: '{args.pull}': must be one of \"always\", \"missing\" "
                       'or "never"', DAEMON_ERROR)
    if args.pull == "always":
        _pull(api, args.image)
    try:
        return api.containers.create(config)
    except ApiError as e:
        if args.pull != "missing" or not _image_missing(e, args.image):
            raise CLIError(f"pyctl: Error response from daemon: {e.message}", DAEMON_ERROR) from None
    # as the docker CLI: the create said the image is missing, so pull it and create again (stdout
    # is kept for the container's id, so all of this goes to stderr)
    from .registry import familiar

    sys.stderr.write(f"Unable to find image '{familiar(args.image)}' locally\n")
    _pull(api, args.image)
    try:
        return api.containers.create(config)
    except ApiError as e:
        raise CLIError(f"pyctl: Error response from daemon: {e.message}", DAEMON_ERROR) from None


PULL_POLICIES = ("missing", "always", "never")


def _image_missing(e: ApiError, image: str) -> bool:
    """Whether a create failed for want of its image, and that image is a name a pull could fetch
    (not an image id, as docker)."""
    hexpart = image.removeprefix("sha256:")
    is_id = len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart)
    return e.code == "NOT_FOUND" and e.message.startswith("No such image:") and not is_id


def _pull(api: Api, image: str) -> None:
    """Pull for run or create, its progress on stderr; failures in docker run's words."""
    from . import registry

    try:
        registry.pull_image(api, image if registry.named(image) else image + ":latest", out=sys.stderr)
    except ApiError as e:
        raise CLIError(f"pyctl: Error response from daemon: {e.message}", DAEMON_ERROR) from None
    except CLIError as e:
        raise CLIError(f"pyctl: {e}", DAEMON_ERROR) from None


def create(api: Api, args: argparse.Namespace) -> int:
    sys.stdout.write(_create(api, args) + "\n")
    return 0


def refuse_tty_off_terminal(tty: bool, interactive: bool) -> None:
    """The docker CLI's CheckTty, before anything is made: -it with a stdin that is not a terminal."""
    if tty and interactive and not sys.stdin.isatty():
        raise CLIError("the input device is not a TTY")


def run(api: Api, args: argparse.Namespace) -> int:
    if not args.detach:
        refuse_tty_off_terminal(args.tty, args.interactive)
    cid = _create(api, args)
    if args.detach:
        try:
            api.containers.start(cid)
        except ApiError as e:
            raise start_error(e) from None
        sys.stdout.write(cid + "\n")
        return 0
    if args.tty or args.interactive:
        from .terminal import attach

        try:
            return attach(api, {"id": cid, "start": True}, tty=args.tty, stdin=args.interactive)
        except ApiError as e:
            if args.rm:
                api.containers.remove(cid, force=True, volumes=True)
            raise start_error(e) from None
    restore = proxy_signals(api, cid)
    try:
        if (code := output.relay(api.containers.start_attached(cid))) is not None:
            return code
    except ApiError as e:
        if args.rm:
            api.containers.remove(cid, force=True, volumes=True)
        raise start_error(e) from None
    finally:
        restore()
    raise CLIError("pyctl: the daemon ended the stream before the container exited", DAEMON_ERROR)


_PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def proxy_signals(api: Api, cid: str) -> Callable[[], None]:
    """docker's --sig-proxy: signals pyctl gets go to the container (sent from a thread, off the handler,
    on a connection of its own: this one is busy with the run). Returns the undo."""
    import signal

    def forward(signum: int, _frame: FrameType | None) -> None:
        import threading

        name = signal.Signals(signum).name
        threading.Thread(target=api.containers.kill, args=(cid, name), kwargs={"own_connection": True},
                         daemon=True).start()

    old = {name: signal.signal(getattr(signal, name), forward) for name in _PROXIED}

    def restore() -> None:
        for name, handler in old.items():
            signal.signal(getattr(signal, name), handler)

    return restore


# ---- argument parsers


def _help(p: argparse.ArgumentParser) -> None:
    # -h is --hostname in docker's create/run, so help is only --help
    p.add_argument("--help", action="help", help="show this help message and exit")


def _add_create_flags(p: argparse.ArgumentParser) -> None:
    _help(p)
    p.add_argument("--name", help="assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="set an environment variable (KEY=VALUE)")
    p.add_argument("--env-file", action="append", default=[], help="read environment variables from a file")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    p.add_argument("-u", "--user", help="user[:group], by name or number")
    p.add_argument("--entrypoint", help="override the image's entrypoint")
    p.add_argument("-h", "--hostname", help="container host name")
    p.add_argument("-l", "--label", action="append", default=[], help="set a label (KEY=VALUE)")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    networks.add_run_flags(p)
    p.add_argument("--runtime", help="pyrunc (default) or runc")
    p.add_argument("-v", "--volume", action="append", default=[], help="bind or volume mount [SOURCE:]TARGET[:MODE]")
    p.add_argument("--mount", action="append", default=[], help="type=bind|volume|tmpfs,source=,target=,...")
    p.add_argument("--tmpfs", action="append", default=[], help="a tmpfs at PATH[:OPTIONS]")
    p.add_argument("--volumes-from", action="append", default=[], help="CONTAINER[:ro|rw]: its mounts too")
    limits.add_create_flags(p)
    p.add_argument("--pull", default="missing", help="pull the image before creating: missing (when it is not "
                   "local), always, never")
    p.add_argument("--group-add", action="append", default=[], metavar="GROUP",
                   help="another group to run as: a name in the container's /etc/group, or a number")
    p.add_argument("--sysctl", action="append", default=[], help="a namespaced kernel parameter (KEY=VALUE)")
    p.add_argument("--stop-signal", help="the signal that stops the container (default: the image's, or SIGTERM)")
    p.add_argument("--stop-timeout", type=int, help="seconds to wait after the stop signal before SIGKILL")
    p.add_argument("--log-opt", action="append", default=[],
                   help="json-file log option KEY=VALUE: max-size (10m), max-file (3); default: the daemon's")
    p.add_argument("image")
    p.add_argument("cmd", nargs=argparse.REMAINDER)


def add_create(p: argparse.ArgumentParser) -> None:
    _add_create_flags(p)
    p.set_defaults(func=create)


def add_run(p: argparse.ArgumentParser) -> None:
    _add_create_flags(p)
    p.add_argument("-d", "--detach", action="store_true", help="run in the background and print the id")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.set_defaults(func=run)
