"""Dockerfile text -> parser directives, global ARGs and stages of typed instructions.

BuildKit's parser (pyruncd.build.buildkit_parser) splits the text into instructions; this module gives
each one its meaning with BuildKit's rules and words (frontend/dockerfile/instructions/parse.go):
argument counts, flags, stage names, heredoc sources, HEALTHCHECK's test, ONBUILD's trigger.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from pyruncd.build import instructions as ins
from pyruncd.build.buildkit_parser import RawNode, parse_nodes, read_directives
from pyruncd.build.errors import DockerfileError, DockerfileParseError
from pyruncd.build.flags import FlagError, FlagKind, parse_flags, parse_interval

_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_ONBUILD_PREFIX = re.compile(r"(?i)^\s*ONBUILD\s*")
_STRING, _BOOL, _STRINGS = FlagKind.STRING, FlagKind.BOOL, FlagKind.STRINGS


@dataclass(frozen=True, kw_only=True)
class Stage:
    index: int
    base: ins.From
    instructions: tuple[ins.Instruction, ...]

    @property
    def name(self) -> str | None:
        return self.base.stage_name


@dataclass(frozen=True, kw_only=True)
class Dockerfile:
    escape: str  # the escape character: \ or ` (the `# escape=` directive)
    syntax: str | None  # the `# syntax=` directive, recorded: the built-in frontend builds every file
    global_args: tuple[ins.Arg, ...]  # ARGs before the first FROM
    stages: tuple[Stage, ...]


class _Invalid(Exception):
    """An instruction's arguments break a rule; turned into DockerfileParseError with the line."""


class _Common(TypedDict):
    line: int
    original: str


class _CommandLineParts(_Common):
    argv: tuple[str, ...]
    shell_form: bool
    heredocs: tuple[ins.Heredoc, ...]


class _TransferParts(_Common):
    sources: tuple[str, ...]
    inline_sources: tuple[ins.Heredoc, ...]
    destination: str


def _common(node: RawNode) -> _Common:
    return {"line": node.start_line, "original": node.original}


def _no_flags(node: RawNode) -> None:
    parse_flags(node.flags, {})


def _exactly_one(node: RawNode) -> str:
    _no_flags(node)
    if len(node.args) != 1:
        raise _Invalid(f"{node.keyword} requires exactly one argument")
    return node.args[0]


def _pairs(node: RawNode) -> tuple[ins.KeyValue, ...]:
    _no_flags(node)
    if not node.args:
        raise _Invalid(f"{node.keyword} requires at least one argument")
    if len(node.args) % 2:
        raise _Invalid(f"Bad input to {node.keyword}, too many arguments")
    pairs = []
    for key, value in zip(node.args[::2], node.args[1::2], strict=True):
        if not key:
            raise _Invalid(f"{node.keyword} names can not be blank")
        pairs.append(ins.KeyValue(key=key, value=value))
    return tuple(pairs)


def _heredocs(node: RawNode) -> tuple[ins.Heredoc, ...]:
    return tuple(
        ins.Heredoc(name=h.name, content=h.content, fd=h.fd, chomp=h.chomp, expand=h.expand) for h in node.heredocs
    )


def _from(node: RawNode) -> ins.From:
    flags = parse_flags(node.flags, {"platform": _STRING})
    args = node.args
    stage_name = None
    if len(args) == 3 and args[1].lower() == "as":
        stage_name = args[2].lower()
        if not _STAGE_NAME.match(stage_name):
            raise _Invalid(
                f'invalid name for build stage: "{args[2]}", name can\'t start with a number or contain symbols'
            )
    elif len(args) != 1:
        raise _Invalid("FROM requires either one or three arguments")
    return ins.From(**_common(node), image=args[0], stage_name=stage_name, platform=flags.string("platform"))


def _command_line(node: RawNode) -> _CommandLineParts:
    return {**_common(node), "argv": node.args, "shell_form": not node.json_form, "heredocs": _heredocs(node)}


def _run(node: RawNode) -> ins.Run:
    flags = parse_flags(node.flags, {"mount": _STRINGS, "network": _STRING, "security": _STRING})
    if not node.args and not node.heredocs:
        raise _Invalid("RUN requires at least one argument")
    return ins.Run(
        **_command_line(node),
        mounts=tuple(flags.lists.get("mount", ())),
        network=flags.string("network"),
        security=flags.string("security"),
    )


def _cmd(node: RawNode) -> ins.Cmd:
    _no_flags(node)
    return ins.Cmd(**_command_line(node))


def _entrypoint(node: RawNode) -> ins.Entrypoint:
    _no_flags(node)
    return ins.Entrypoint(**_command_line(node))


def _transfer_parts(node: RawNode) -> _TransferParts:
    if len(node.args) < 2:
        raise _Invalid(
            f"{node.keyword} requires at least two arguments, but only one was provided. "
            "Destination could not be determined"
        )
    *sources, destination = node.args
    if _HEREDOC_WORD.match(destination) and not node.json_form:
        raise _Invalid(f"{node.keyword} cannot accept a heredoc as a destination")
    by_name = {heredoc.name: heredoc for heredoc in _heredocs(node)}
    paths: list[str] = []
    inline: list[ins.Heredoc] = []
    for source in sources:
        marker = None if node.json_form else _HEREDOC_WORD.match(source)
        name = marker.group(3).strip("\"'") if marker else ""
        if marker and name in by_name:
            inline.append(by_name[name])
        else:
            paths.append(source)
    return {**_common(node), "sources": tuple(paths), "inline_sources": tuple(inline), "destination": destination}


def _copy(node: RawNode) -> ins.Copy:
    flags = parse_flags(node.flags, {"chown": _STRING, "from": _STRING, "chmod": _STRING, "link": _BOOL})
    return ins.Copy(
        **_transfer_parts(node),
        chown=flags.string("chown"),
        chmod=flags.string("chmod"),
        link=flags.bools.get("link", False),
        from_stage=flags.string("from"),
    )


def _add(node: RawNode) -> ins.Add:
    allowed = {"chown": _STRING, "chmod": _STRING, "link": _BOOL, "keep-git-dir": _BOOL, "checksum": _STRING}
    flags = parse_flags(node.flags, allowed)
    return ins.Add(
        **_transfer_parts(node),
        chown=flags.string("chown"),
        chmod=flags.string("chmod"),
        link=flags.bools.get("link", False),
        keep_git_dir=flags.bools.get("keep-git-dir", False),
        checksum=flags.string("checksum"),
    )


def _volume(node: RawNode) -> ins.Volume:
    _no_flags(node)
    if not node.args:
        raise _Invalid("VOLUME requires at least one argument")
    paths = tuple(path.strip() for path in node.args)
    if "" in paths:
        raise _Invalid("VOLUME specified can not be an empty string")
    return ins.Volume(**_common(node), paths=paths, json_form=node.json_form)


def _arg(node: RawNode) -> ins.Arg:
    _no_flags(node)
    if not node.args:
        raise _Invalid("ARG requires at least one argument")
    declarations = []
    for word in node.args:
        name, has_default, default = word.partition("=")
        if not name:
            raise _Invalid("ARG names can not be blank")
        declarations.append(ins.ArgDeclaration(name=name, default=default if has_default else None))
    return ins.Arg(**_common(node), declarations=tuple(declarations))


def _onbuild(node: RawNode) -> ins.Onbuild:
    _no_flags(node)
    if node.trigger is None:
        raise _Invalid("ONBUILD requires at least one argument")
    if node.trigger == "ONBUILD":
        raise _Invalid("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if node.trigger in ("MAINTAINER", "FROM"):
        raise _Invalid(f"{node.trigger} isn't allowed as an ONBUILD trigger")
    if node.trigger not in _PARSERS:
        raise _Invalid(f"unknown instruction: {node.trigger}")
    trigger = _ONBUILD_PREFIX.sub("", node.original, count=1)
    for heredoc in node.heredocs:
        trigger += "\n" + heredoc.content + heredoc.name
    return ins.Onbuild(**_common(node), trigger=trigger)


def _healthcheck(node: RawNode) -> ins.Healthcheck:
    if not node.args:
        raise _Invalid("HEALTHCHECK requires at least one argument")
    kind, rest = node.args[0].upper(), node.args[1:]
    if kind == "NONE":
        if rest:
            raise _Invalid("HEALTHCHECK NONE takes no arguments")
        _no_flags(node)
        return ins.Healthcheck(**_common(node), test=("NONE",))
    names = ("interval", "timeout", "start-period", "start-interval", "retries")
    flags = parse_flags(node.flags, dict.fromkeys(names, _STRING))
    if kind != "CMD":
        raise _Invalid(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not rest or rest == ("",):
        raise _Invalid("Missing command after HEALTHCHECK CMD")
    retries_text = flags.string("retries")
    retries = None
    if retries_text:
        try:
            retries = int(retries_text)
        except ValueError:
            raise _Invalid(f'strconv.ParseInt: parsing "{retries_text}": invalid syntax') from None
        if retries < 0:
            raise _Invalid(f"--retries cannot be negative ({retries})")
    return ins.Healthcheck(
        **_common(node),
        test=("CMD", *rest) if node.json_form else ("CMD-SHELL", *rest),
        interval=parse_interval("interval", flags.string("interval")),
        timeout=parse_interval("timeout", flags.string("timeout")),
        start_period=parse_interval("start-period", flags.string("start-period")),
        start_interval=parse_interval("start-interval", flags.string("start-interval")),
        retries=retries,
    )


def _expose(node: RawNode) -> ins.Expose:
    _no_flags(node)
    if not node.args:
        raise _Invalid("EXPOSE requires at least one argument")
    # sorted as written, before substitution, as BuildKit's parser (which the classic builder shares) does:
    # the history shows "EXPOSE $P 80" substituted in that order
    return ins.Expose(**_common(node), ports=tuple(sorted(node.args)))


def _shell(node: RawNode) -> ins.Shell:
    _no_flags(node)
    if not node.args:
        raise _Invalid("SHELL requires at least one argument")
    if not node.json_form:
        raise _Invalid(f"SHELL requires the arguments to be in JSON form: {node.original}")
    return ins.Shell(**_common(node), argv=node.args)


_PARSERS: dict[str, Callable[[RawNode], ins.Instruction]] = {
    "FROM": _from,
    "RUN": _run,
    "CMD": _cmd,
    "ENTRYPOINT": _entrypoint,
    "LABEL": lambda node: ins.Label(**_common(node), labels=_pairs(node)),
    "ENV": lambda node: ins.Env(**_common(node), variables=_pairs(node)),
    "MAINTAINER": lambda node: ins.Maintainer(**_common(node), name=_exactly_one(node)),
    "EXPOSE": _expose,
    "ADD": _add,
    "COPY": _copy,
    "VOLUME": _volume,
    "USER": lambda node: ins.User(**_common(node), user=_exactly_one(node)),
    "WORKDIR": lambda node: ins.Workdir(**_common(node), path=_exactly_one(node)),
    "ARG": _arg,
    "ONBUILD": _onbuild,
    "STOPSIGNAL": lambda node: ins.Stopsignal(**_common(node), signal=_exactly_one(node)),
    "HEALTHCHECK": _healthcheck,
    "SHELL": _shell,
}


def parse_instruction(node: RawNode) -> ins.Instruction:
    parser = _PARSERS.get(node.keyword)
    if parser is None:
        raise DockerfileParseError(line=node.start_line, message=f"unknown instruction: {node.keyword}")
    try:
        return parser(node)
    except (_Invalid, FlagError) as error:
        raise DockerfileParseError(line=node.start_line, message=str(error), instruction=node.keyword) from None


def parse_dockerfile(text: str) -> Dockerfile:
    directives = read_directives(text)
    global_args: list[ins.Arg] = []
    stages: list[Stage] = []
    current: list[ins.Instruction] = []
    for node in parse_nodes(text):
        instruction = parse_instruction(node)
        if isinstance(instruction, ins.From):
            if stages:
                stages[-1] = Stage(index=stages[-1].index, base=stages[-1].base, instructions=tuple(current))
            stages.append(Stage(index=len(stages), base=instruction, instructions=()))
            current = []
        elif stages:
            current.append(instruction)
        elif isinstance(instruction, ins.Arg):
            global_args.append(instruction)
        else:
            raise DockerfileParseError(line=node.start_line, message="no build stage in current context")
    if not stages:
        raise DockerfileError("dockerfile contains no stages to build")
    stages[-1] = Stage(index=stages[-1].index, base=stages[-1].base, instructions=tuple(current))
    return Dockerfile(
        escape=directives.get("escape", "\\"),
        syntax=directives.get("syntax"),
        global_args=tuple(global_args),
        stages=tuple(stages),
    )


def parse_trigger(trigger: str, *, escape: str = "\\") -> ins.Instruction:
    """An ONBUILD trigger stored in a base image, parsed when a child build uses that image."""
    prefix = f"# escape={escape}\n" if escape != "\\" else ""
    nodes = parse_nodes(prefix + trigger)
    if len(nodes) != 1:
        raise DockerfileError(f"invalid ONBUILD trigger: {trigger!r}")
    return parse_instruction(nodes[0])
