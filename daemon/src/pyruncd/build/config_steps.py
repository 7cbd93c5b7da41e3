"""The instructions that change only the image config, and each one's `created_by`, in the words of
docker's classic builder (dockerd 20.10, builder/dockerfile/dispatchers.go), which the tests compare with:

    /bin/sh -c #(nop)  ENV A=b                  most: the shell, "#(nop) " and the comment as two words
    /bin/sh -c #(nop) WORKDIR /app               WORKDIR, COPY and ADD: one word (an older format it kept)

CMD, ENTRYPOINT and HEALTHCHECK are shown as Go's %q prints them (`CMD ["/bin/sh" "-c" "echo hi"]`).
"""

import dataclasses
import ipaddress
import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from ..containers.spec import parse_signal
from ..errors import InvalidArgument
from ..images.commit import Healthcheck, RunConfig
from . import instructions as ins

DEFAULT_SHELL = ("/bin/sh", "-c")
_SECOND = 1_000_000_000


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """A stage's image config as it goes: the run config, the author, and whether this stage set CMD
    (a shell-form ENTRYPOINT clears a CMD it did not set)."""

    run: RunConfig
    author: str = ""
    cmd_set: bool = False

    @property
    def shell(self) -> tuple[str, ...]:
        return tuple(self.run.shell) if self.run.shell else DEFAULT_SHELL


def go_quote(word: str) -> str:
    return json.dumps(word, ensure_ascii=False)


def go_quoted_list(words: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(go_quote(w) for w in words) + "]"


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String() for whole and fractional seconds: 0s, 30s, 1m30s, 1h0m0s, 1.5s."""
    if nanoseconds == 0:
        return "0s"
    seconds, rest = divmod(nanoseconds, _SECOND)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = f"{seconds}" + (f".{rest:09d}".rstrip("0") if rest else "") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def _go_rune(n: int) -> str:
    """Go's %q of an int: a rune literal ('\\x03')."""
    if 32 <= n < 127 and chr(n) not in "'\\":
        return f"'{chr(n)}'"
    return f"'\\x{n:02x}'" if n < 256 else f"'\\u{n:04x}'"


def nop(config: StageConfig, comment: str) -> str:
    return " ".join([*config.shell, "#(nop) ", comment])


def nop_one_word(config: StageConfig, comment: str) -> str:
    return " ".join([*config.shell, "#(nop) " + comment])


def command_argv(config: StageConfig, instruction: ins.CommandLine) -> list[str]:
    """The argv a CMD, ENTRYPOINT or RUN stands for: the exec form's, or the shell's with the command."""
    if instruction.shell_form:
        return [*config.shell, instruction.argv[0]]
    return list(instruction.argv)


def workdir_path(config: StageConfig, path: str) -> str:
    return posixpath.normpath(posixpath.join("/", config.run.working_dir or "/", path))


def _set_env(env: Sequence[str], key: str, value: str) -> list[str]:
    out = [e for e in env if e.partition("=")[0] != key]
    index = next((i for i, e in enumerate(env) if e.partition("=")[0] == key), len(out))
    out.insert(index, f"{key}={value}")
    return out


def _port_range(text: str) -> tuple[int, int] | None:
    """go-connections' ParsePortRange: N or N-M (only the first two parts of a longer one), each 0-65535."""
    first, _, rest = text.partition("-")
    last = rest.split("-")[0] if rest else first
    if not (first.isascii() and first.isdigit() and last.isascii() and last.isdigit()):
        return None
    start, end = int(first), int(last)
    return None if end > 65535 or start > end else (start, end)


def _ports(specs: Sequence[str]) -> list[str]:
    """The ports `EXPOSE` exposes, as go-connections' nat.ParsePortSpecs reads each word (docker's classic
    builder uses it): [[ip:]hostPort:]port[-port][/proto], with its error words."""
    found = []
    for spec in specs:
        parts = spec.split(":")
        address, host_port, container = ":".join(parts[:-2]), (parts[-2] if len(parts) > 1 else ""), parts[-1]
        words = container.split("/")  # SplitProtoPort: "80", "80/", "80/udp" (more parts are ignored)
        number, proto = words[0], (words[1] if len(words) > 1 and words[1] else "tcp")
        address = address.removeprefix("[").removesuffix("]")
        if address and not _is_ip(address):
            raise InvalidArgument(f"Invalid ip address: {address}")
        if not number:
            raise InvalidArgument(f"No port specified: {spec}<empty>")
        ports = _port_range(number)
        if ports is None:
            raise InvalidArgument(f"Invalid containerPort: {number}")
        hosts = _port_range(host_port) if host_port else (0, 0)
        if hosts is None:
            raise InvalidArgument(f"Invalid hostPort: {host_port}")
        if host_port and ports[1] - ports[0] != hosts[1] - hosts[0] and ports[0] != ports[1]:
            raise InvalidArgument(f"Invalid ranges specified for container and host Ports: {number} and {host_port}")
        if proto.lower() not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"Invalid proto: {proto}")
        found += [f"{n}/{proto.lower()}" for n in range(ports[0], ports[1] + 1)]
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _nanoseconds(seconds: float | None) -> int:
    return 0 if seconds is None else round(seconds * _SECOND)


def _healthcheck(instruction: ins.Healthcheck) -> tuple[Healthcheck, str]:
    check = Healthcheck(test=list(instruction.test), interval=_nanoseconds(instruction.interval),
                        timeout=_nanoseconds(instruction.timeout), start_period=_nanoseconds(instruction.start_period),
                        start_interval=_nanoseconds(instruction.start_interval), retries=instruction.retries or 0)
    shown = (f"&{{{go_quoted_list(check.test)} {go_quote(go_duration(check.interval))} "
             f"{go_quote(go_duration(check.timeout))} {go_quote(go_duration(check.start_period))} "
             f"{_go_rune(check.retries)}}}")
    return check, shown


def apply_config_instruction(config: StageConfig, instruction: ins.Instruction) -> tuple[StageConfig, str]:
    """The config after a (substituted) metadata instruction, and its history's `created_by`.
    WORKDIR's directory is made by the executor; here it only moves the working directory."""
    run, replace = config.run, dataclasses.replace
    match instruction:
        case ins.Env(variables=variables):
            env = list(run.env)
            for pair in variables:
                env = _set_env(env, pair.key, pair.value)
            comment = "ENV " + " ".join(f"{p.key}={p.value}" for p in variables)
            return replace(config, run=replace(run, env=env)), nop(config, comment)
        case ins.Label(labels=labels):
            merged = {**run.labels, **{p.key: p.value for p in labels}}
            comment = "LABEL " + " ".join(f"{p.key}={p.value}" for p in labels)
            return replace(config, run=replace(run, labels=merged)), nop(config, comment)
        case ins.Maintainer(name=name):
            return replace(config, author=name), nop(config, "MAINTAINER " + name)
        case ins.Cmd():
            argv = command_argv(config, instruction)
            new = replace(config, run=replace(run, cmd=argv), cmd_set=True)
            return new, nop(config, "CMD " + go_quoted_list(argv))
        case ins.Entrypoint():
            entrypoint = command_argv(config, instruction)
            kept = run.cmd if config.cmd_set else None
            new = replace(config, run=replace(run, entrypoint=entrypoint, cmd=kept))
            return new, nop(config, "ENTRYPOINT " + go_quoted_list(entrypoint))
        case ins.Expose(ports=ports):
            # the config's ports sorted as strings, as Go's JSON writes a map; the history line lists the words
            # as substituted, in the order the parser sorted them before (dockerfile.py)
            exposed = sorted({*run.exposed_ports, *_ports(ports)})
            return replace(config, run=replace(run, exposed_ports=exposed)), nop(config, "EXPOSE " + " ".join(ports))
        case ins.Volume(paths=paths):
            volumes = sorted({*run.volumes, *paths})
            return (replace(config, run=replace(run, volumes=volumes)),
                    nop(config, "VOLUME [" + " ".join(paths) + "]"))
        case ins.User(user=user):
            return replace(config, run=replace(run, user=user)), nop(config, "USER " + user)
        case ins.Workdir(path=path):
            directory = workdir_path(config, path)
            return replace(config, run=replace(run, working_dir=directory)), nop_one_word(config, "WORKDIR " + directory)
        case ins.Stopsignal(signal=signal):
            parse_signal(signal)
            return replace(config, run=replace(run, stop_signal=signal)), nop(config, "STOPSIGNAL " + signal)
        case ins.Healthcheck():
            check, shown = _healthcheck(instruction)
            return replace(config, run=replace(run, healthcheck=check)), nop(config, "HEALTHCHECK " + shown)
        case ins.Shell(argv=argv):
            new = replace(config, run=replace(run, shell=list(argv)))
            return new, nop(new, "SHELL [" + " ".join(argv) + "]")  # shown under the new shell, as docker's
        case ins.Onbuild(trigger=trigger):
            triggers = [*run.on_build, trigger]
            return replace(config, run=replace(run, on_build=triggers)), nop(config, "ONBUILD " + trigger)
        case ins.Arg(declarations=declarations):
            shown = " ".join(d.name if d.default is None else f"{d.name}={d.default}" for d in declarations)
            return config, nop(config, "ARG " + shown)
    raise InvalidArgument(f"{instruction.keyword} does not only change the image config")
