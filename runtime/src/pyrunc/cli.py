"""argv -> the command function. Flags follow runc's (urfave/cli) rules:
`--name value`, `--name=value` or `-name value`; flags stop at the first
positional argument or `--`; global flags come before the command.

Only the module of the command in hand is imported.
"""

import os
import sys

from . import __version__

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~5 ms of every start)
if TYPE_CHECKING:
    from typing import Any, NoReturn

SPEC_VERSION = "1.0.2"

# (names, kind, destination). kind: bool, str, int or list (repeatable str)
GLOBAL_FLAGS = [
    (("--root",), str, "root"),
    (("--log",), str, "log"),
    (("--log-format",), str, "log_format"),
    (("--debug",), bool, "debug"),
    (("--systemd-cgroup",), bool, "systemd_cgroup"),
    (("--rootless",), str, "rootless"),
    (("--criu",), str, "criu"),
    (("--help", "-h"), bool, "help"),
    (("--version", "-v"), bool, "version"),
]

_CREATE_FLAGS = [
    (("--bundle", "-b"), str, "bundle"),
    (("--console-socket",), str, "console_socket"),
    (("--pid-file",), str, "pid_file"),
    (("--no-pivot",), bool, "no_pivot"),
    (("--no-new-keyring",), bool, "no_new_keyring"),
    (("--preserve-fds",), int, "preserve_fds"),
]

# command: (module, function, flags, (min args, max args or None), usage)
COMMANDS = {
    "create": ("create", "create", _CREATE_FLAGS + [(("--detach", "-d"), bool, "detach")],
               (1, 1), "create [command options] <container-id>"),
    "run": ("run", "run", _CREATE_FLAGS + [
        (("--detach", "-d"), bool, "detach"),
        (("--keep",), bool, "keep"),
        (("--no-subreaper",), bool, "no_subreaper"),
    ], (1, 1), "run [command options] <container-id>"),
    "start": ("start", "start", [], (1, 1), "start <container-id>"),
    "state": ("state", "state", [], (1, 1), "state <container-id>"),
    "list": ("list", "list_containers", [
        (("--format", "-f"), str, "format"),
        (("--quiet", "-q"), bool, "quiet"),
    ], (0, 0), "list [command options]"),
    "kill": ("kill", "kill", [(("--all", "-a"), bool, "all")], (1, 2),
             "kill [command options] <container-id> [signal]"),
    "delete": ("delete", "delete", [(("--force", "-f"), bool, "force")], (1, 1),
               "delete [command options] <container-id>"),
    "ps": ("ps", "ps", [(("--format", "-f"), str, "format")], (1, None),
           "ps [command options] <container-id> [ps options]"),
    "exec": ("exec", "exec_process", [
        (("--console-socket",), str, "console_socket"),
        (("--cwd",), str, "cwd"),
        (("--env", "-e"), list, "env"),
        (("--tty", "-t"), bool, "tty"),
        (("--user", "-u"), str, "user"),
        (("--additional-gids", "-g"), list, "additional_gids"),
        (("--process", "-p"), str, "process"),
        (("--detach", "-d"), bool, "detach"),
        (("--pid-file",), str, "pid_file"),
        (("--process-label",), str, "process_label"),
        (("--apparmor",), str, "apparmor"),
        (("--no-new-privs",), bool, "no_new_privs"),
        (("--cap", "-c"), list, "cap"),
        (("--preserve-fds",), int, "preserve_fds"),
        (("--cgroup",), list, "cgroup"),
        (("--ignore-paused",), bool, "ignore_paused"),
    ], (1, None), "exec [command options] <container-id> <command> [command options]"),
    "spec": ("spec", "spec", [
        (("--bundle", "-b"), str, "bundle"),
        (("--rootless",), bool, "rootless"),
    ], (0, 0), "spec [command options]"),
    "pause": ("pause", "pause", [], (1, 1), "pause <container-id>"),
    "resume": ("pause", "resume", [], (1, 1), "resume <container-id>"),
    "update": ("update", "update", [
        (("--resources", "-r"), str, "resources"),
        (("--blkio-weight",), int, "blkio_weight"),
        (("--cpu-period",), str, "cpu_period"),
        (("--cpu-quota",), str, "cpu_quota"),
        (("--cpu-share",), str, "cpu_share"),
        (("--cpu-rt-period",), str, "cpu_rt_period"),
        (("--cpu-rt-runtime",), str, "cpu_rt_runtime"),
        (("--cpuset-cpus",), str, "cpuset_cpus"),
        (("--cpuset-mems",), str, "cpuset_mems"),
        (("--kernel-memory",), str, "kernel_memory"),
        (("--kernel-memory-tcp",), str, "kernel_memory_tcp"),
        (("--memory",), str, "memory"),
        (("--memory-reservation",), str, "memory_reservation"),
        (("--memory-swap",), str, "memory_swap"),
        (("--pids-limit",), int, "pids_limit"),
        (("--l3-cache-schema",), str, "l3_cache_schema"),
        (("--mem-bw-schema",), str, "mem_bw_schema"),
    ], (1, 1), "update [command options] <container-id>"),
    "events": ("events", "events", [
        (("--interval",), str, "interval"),
        (("--stats",), bool, "stats"),
    ], (1, 1), "events [command options] <container-id>"),
    "features": ("features", "features", [], (0, 0), "features"),
}


class Context:
    """What every command gets: the global flags, resolved."""

    def __init__(self, root, log, systemd_cgroup):
        self.root = root
        self.log = log
        self.systemd_cgroup = systemd_cgroup


def parse_flags(argv, flags, where):
    """Consume leading flags from argv; returns (options dict, remaining args)."""
    from .errors import UsageError

    by_name = {}
    opts: dict[str, Any] = {}  # dest -> its value, of its flag's kind (list, bool, int, str or None)
    for names, kind, dest in flags:
        for n in names:
            by_name[n] = (kind, dest)
        opts[dest] = [] if kind is list else (False if kind is bool else None)
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if not name.startswith("--") and len(name) > 2:
            name = "-" + name  # urfave/cli takes -bundle as --bundle
        if name not in by_name:
            raise UsageError(f"flag provided but not defined: {arg.split('=')[0]}{where}")
        kind, dest = by_name[name]
        if kind is bool:
            if eq:
                if value.lower() not in ("true", "false", "1", "0"):
                    raise UsageError(f"invalid boolean value {value!r} for flag {name}")
                opts[dest] = value.lower() in ("true", "1")
            else:
                opts[dest] = True
            i += 1
            continue
        if not eq:
            if i + 1 >= len(argv):
                raise UsageError(f"flag needs an argument: {name}")
            value = argv[i + 1]
            i += 1
        i += 1
        if kind is int:
            try:
                value = int(value)
            except ValueError:
                raise UsageError(f"invalid value {value!r} for flag {name}: expected an integer") from None
        if kind is list:
            opts[dest].append(value)
        else:
            opts[dest] = value
    return opts, argv[i:]


def _usage(name):
    return f"usage: pyrunc {COMMANDS[name][4]}" if name in COMMANDS else "usage: pyrunc [global options] command"


def _help():
    return (
        "pyrunc: a runc-compatible OCI runtime\n\n"
        "usage: pyrunc [global options] command [command options] [arguments...]\n\n"
        "commands:\n" + "".join(f"   {COMMANDS[c][4]}\n" for c in COMMANDS) +
        "\nglobal options: --root, --log, --log-format text|json, --debug, --systemd-cgroup, --rootless, --version\n"
    )


def version_text():
    return f"pyrunc version {__version__}\ncommit: {__version__}\nspec: {SPEC_VERSION}\n"


def main(argv=None):
    from .errors import Log, PyruncError, UsageError

    argv = sys.argv[1:] if argv is None else argv
    log = Log()
    rest = []
    try:
        gopts, rest = parse_flags(argv, GLOBAL_FLAGS, "")
        if gopts["log_format"] not in (None, "text", "json"):
            raise UsageError(f"invalid log format {gopts['log_format']!r}: expected text or json")
        log = Log(gopts["log"] and os.path.abspath(gopts["log"]), gopts["log_format"] or "text", gopts["debug"])
        if gopts["version"]:
            sys.stdout.write(version_text())
            return 0
        if not rest or gopts["help"] or rest[0] == "help":
            if len(rest) > 1 and rest[0] == "help" and rest[1] in COMMANDS:
                sys.stdout.write(_usage(rest[1]) + "\n")
            else:
                sys.stdout.write(_help())
            return 0
        name, args = rest[0], rest[1:]
        if name not in COMMANDS:
            log.error(f"No help topic for '{name}'")
            return 3
        module, func, flags, (lo, hi), _ = COMMANDS[name]
        opts, args = parse_flags(args, flags, f" (in '{name}')")
        if opts.pop("help", False):
            sys.stdout.write(_usage(name) + "\n")
            return 0
        if len(args) < lo or (hi is not None and len(args) > hi):
            word = "exactly" if lo == hi else "at least" if hi is None else "between"
            count = f"{lo}" if lo == hi or hi is None else f"{lo} and {hi}"
            raise UsageError(f'pyrunc: "{name}" requires {word} {count} argument(s)\n{_usage(name)}')
        if gopts["rootless"] not in (None, "auto", "false"):
            raise UsageError("--rootless is not supported by pyrunc: run it as root")
        if gopts["systemd_cgroup"] and not _has_systemd():
            raise UsageError("--systemd-cgroup is not supported on this host: systemd is not running")
        ctx = Context(
            root=os.path.abspath(gopts["root"] or "/run/pyrunc"),
            log=log,
            systemd_cgroup=gopts["systemd_cgroup"],
        )
        log.debug(f"{name} {args} {opts}")
        # __import__, not importlib.import_module: importlib (and the warnings it imports) is ~0.5 ms of every start
        mod = __import__(f"pyrunc.commands.{module}", fromlist=[func])
        return getattr(mod, func)(ctx, args, **opts) or 0
    except PyruncError as e:
        # runc's prefixes, which engines show to their users
        prefix = {"create": "pyrunc create failed: ", "run": "pyrunc run failed: ",
                  "exec": "exec failed: "}.get(rest[0] if rest else "", "")
        log.error(prefix + str(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        # an unexpected system error still gets runc's one-line error, not a traceback
        where = f"{e.filename}: " if e.filename else ""
        log.error(f"{' '.join(rest[:1]) or 'pyrunc'}: {where}{(e.strerror or str(e)).lower()}")
        return 1


def _has_systemd():
    return os.path.isdir("/run/systemd/system")


def run() -> "NoReturn":
    """The console-script entry point: skip interpreter teardown, which is pure cost for a CLI.
    The shim calls it too, in a child forked to run pyrunc without an exec (pyrunc_shim.inprocess)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
