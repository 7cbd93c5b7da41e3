"""commit and import: their `-c` changes (Dockerfile instructions applied to an image's config, by the build
front end's parser, with docker's rules) and the image maker the containers' commit operation is given.

A module of its own: it joins the Dockerfile parser (build/) to the images, which must not import build
(the build executor imports images), and the containers reach it only through the maker they are given.
"""

import dataclasses
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from . import reference
from .build import instructions as ins
from .build.dockerfile import parse_trigger
from .build.substitute import substitute_instruction
from .errors import InvalidArgument
from .images.commit import Healthcheck, HistoryEntry, RunConfig, commit_changes, now
from .images.store import ImageStore

# moby's validCommitCommands
CHANGE_COMMANDS = frozenset({"cmd", "entrypoint", "env", "expose", "healthcheck", "label", "onbuild", "stopsignal",
                             "user", "volume", "workdir"})
_NS = 1_000_000_000

class MakeImage(Protocol):
    """What the containers' commit operation calls (ops/commit.py's, which this one matches)."""

    async def __call__(self, *, upper: Path, parent: str, config: dict[str, Any], created_by: str,
                       placeholders: frozenset[str]) -> str: ...


def _ports(spec: str) -> list[str]:
    """EXPOSE's 80, 80/udp or 8000-8002/tcp as docker's "80/tcp" keys."""
    port, _, proto = spec.partition("/")
    proto = (proto or "tcp").lower()
    low, _, high = port.partition("-")
    try:
        first, last = int(low), int(high or low)
    except ValueError:
        raise InvalidArgument(f"invalid containerPort: {port}") from None
    if not 0 < first <= last <= 65535:
        raise InvalidArgument(f"invalid containerPort: {port}")
    return [f"{p}/{proto}" for p in range(first, last + 1)]


def _argv(config: RunConfig, inst: ins.CommandLine) -> list[str]:
    if inst.shell_form and inst.argv:
        return [*(config.shell or ["/bin/sh", "-c"]), inst.argv[0]]
    return list(inst.argv)


def _seconds(value: float | None) -> int:
    return int((value or 0) * _NS)


def _apply(config: RunConfig, inst: ins.Instruction, cmd_set: bool) -> RunConfig:
    match inst:
        case ins.Cmd():
            return dataclasses.replace(config, cmd=_argv(config, inst))
        case ins.Entrypoint():
            # as docker's builder: an ENTRYPOINT clears the Cmd unless a CMD was given in the same run
            return dataclasses.replace(config, entrypoint=_argv(config, inst), cmd=config.cmd if cmd_set else None)
        case ins.Env():
            env = {e.split("=", 1)[0]: e for e in config.env}
            for kv in inst.variables:
                env[kv.key] = f"{kv.key}={kv.value}"
            return dataclasses.replace(config, env=list(env.values()))
        case ins.Label():
            return dataclasses.replace(config, labels={**config.labels, **{kv.key: kv.value for kv in inst.labels}})
        case ins.Expose():
            ports = set(config.exposed_ports).union(*(_ports(p) for p in inst.ports))
            return dataclasses.replace(config, exposed_ports=sorted(ports))
        case ins.Volume():
            return dataclasses.replace(config, volumes=sorted(set(config.volumes).union(inst.paths)))
        case ins.User():
            return dataclasses.replace(config, user=inst.user)
        case ins.Workdir():
            return dataclasses.replace(config, working_dir=posixpath.join(config.working_dir or "/", inst.path))
        case ins.Onbuild():
            return dataclasses.replace(config, on_build=[*config.on_build, inst.trigger])
        case ins.Stopsignal():
            return dataclasses.replace(config, stop_signal=inst.signal)
        case ins.Healthcheck():
            return dataclasses.replace(config, healthcheck=Healthcheck(
                test=list(inst.test), interval=_seconds(inst.interval), timeout=_seconds(inst.timeout),
                start_period=_seconds(inst.start_period), start_interval=_seconds(inst.start_interval),
                retries=inst.retries or 0))
    raise InvalidArgument(f"{inst.keyword.lower()} is not a valid change command")


def apply_changes(config: RunConfig, changes: Sequence[str]) -> RunConfig:
    """`config` with each of `changes` (one Dockerfile instruction each) applied in order, with `$VAR`s
    substituted from its Env as docker's commit does."""
    parsed = []
    for text in changes:
        if not text.strip():
            continue
        inst = parse_trigger(text)
        if inst.keyword.lower() not in CHANGE_COMMANDS:
            raise InvalidArgument(f"{inst.keyword.lower()} is not a valid change command")
        parsed.append(inst)
    cmd_set = any(isinstance(i, ins.Cmd) for i in parsed)
    for inst in parsed:
        # quotes removed and variables substituted where a Dockerfile's would be, from the Env so far
        env = {key: value for key, _, value in (e.partition("=") for e in config.env)}
        config = _apply(config, substitute_instruction(inst, env).instruction, cmd_set)
    return config


def tags_of(text: str) -> list[reference.Reference]:
    """The NAME[:TAG] a new image is to be tagged with ([] for none), refused as `tag` refuses it."""
    if not text:
        return []
    ref = reference.parse(text)
    if ref.digest:
        raise InvalidArgument(f"refusing to create a tag with a digest reference: {text!r}")
    return [ref]


def image_maker(store: ImageStore, *, changes: Sequence[str], author: str, message: str, tag: str) -> MakeImage:
    """What `docker commit` makes of a container's upper dir, for the containers' commit operation. The
    changes and the name are checked now, before the container is paused."""
    apply_changes(RunConfig(), changes)
    tags = tags_of(tag)

    async def make(*, upper: Path, parent: str, config: dict[str, Any], created_by: str,
                   placeholders: frozenset[str]) -> str:
        run_config = apply_changes(RunConfig.from_json(config), changes)
        entry = HistoryEntry(created=now(), created_by=created_by, author=author, comment=message)
        rec = await commit_changes(store, upper, parent=store.get(parent), config=run_config, history=entry,
                                   author=author, tags=tags, placeholders=placeholders)
        return rec.id

    return make
