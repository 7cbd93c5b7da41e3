"""RUN: a container of the step's image (the containers' `build_step`: created, started, its output
streamed, waited for and removed), whose upper dir becomes the step's layer.

What the runtime made in the rootfs only to mount over it (the /etc/hosts, /etc/resolv.conf and
/etc/hostname files, /dev, /proc and /sys) is not the command's change and stays out of the layer, as
docker keeps it in a layer of its own below the container's.
"""

import os
import posixpath
import re
import shutil
import stat
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from ..containers.types import Chunk, CreateOptions
from ..volumes.mounts import MountFlags
from . import instructions as ins
from .config_steps import StageConfig, command_argv
from .errors import StepFailed
from .leftovers import STEP_LABEL
from .progress import Emit, StepOutput, StepStatus
from .run_mounts import OPAQUE, Stub, bind_spec, remove_stubs

Changes = TypeVar("Changes")
_MOUNTPOINTS = ("etc/hosts", "etc/resolv.conf", "etc/hostname", "dev", "proc", "sys")


class StepRunner(Protocol):
    """The one call a build makes of the containers (containers.local.Containers.build_step)."""

    async def build_step(self, o: CreateOptions, *, on_start: Callable[[str], None], output: Callable[[Chunk], None],
                         take_changes: Callable[[Path], Awaitable[Changes]]) -> tuple[int, Changes | None]: ...


_LONE_HEREDOC = re.compile(r"""^<<-?\s*(["']?)[a-zA-Z_][a-zA-Z0-9_]*\1$""")
HEREDOC_PIPES = "/dev/pipes"  # where BuildKit mounts a `RUN <<EOF` script


def heredoc_script(run: ins.Run) -> ins.Heredoc | None:
    """The script of `RUN <<EOF` (a lone heredoc as the command), run as a file as BuildKit does: its
    shebang (`#!/usr/bin/env python`) picks the interpreter, else the shell runs it."""
    if run.shell_form and len(run.heredocs) == 1 and _LONE_HEREDOC.match(run.argv[0].strip()):
        return run.heredocs[0]
    return None


def run_argv(config: StageConfig, run: ins.Run) -> list[str]:
    """The command: the exec form's argv, or the shell's with the command line. As BuildKit: a lone
    heredoc's script as a file at /dev/pipes/<name>; other heredocs (`cat <<EOF > /file`) appended to the
    command line with their terminators, for the shell to feed to the command's input."""
    if not run.shell_form or not run.heredocs:
        return command_argv(config, run)
    script = heredoc_script(run)
    if script is not None:
        return [*config.shell, posixpath.join(HEREDOC_PIPES, script.name)]
    return [*config.shell, run.argv[0] + "".join(f"\n{heredoc.content}{heredoc.name}" for heredoc in run.heredocs)]


def heredoc_script_mount(script: ins.Heredoc, scratch: Path) -> str:
    """The `--mount` of a `RUN <<EOF` script: the file (0755), read-only at /dev/pipes/<name>."""
    path = scratch / "script"
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o755), "w") as file:
        file.write(script.body())
    os.chmod(path, 0o755)
    return bind_spec(path, posixpath.join(HEREDOC_PIPES, script.name), readonly=True)


def run_created_by(argv: list[str], args: Mapping[str, str]) -> str:
    """The history's `created_by`: the command, after `|N K=V...` when the stage has build args (docker's)."""
    if not args:
        return " ".join(argv)
    pairs = sorted(f"{key}={value}" for key, value in args.items())
    return " ".join([f"|{len(pairs)}", *pairs, *argv])


def strip_mountpoints(upper: Path) -> None:
    for name in _MOUNTPOINTS:
        path = upper / name
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)
        else:
            path.unlink()
    etc = upper / "etc"
    # a copied-up etc keeps overlay's own xattrs (origin, impure); only an opaque one is a change
    if etc.is_dir() and not etc.is_symlink() and not any(etc.iterdir()) and OPAQUE not in os.listxattr(etc):
        etc.rmdir()


async def run_step(runner: StepRunner, *, image_id: str, config: StageConfig, run: ins.Run,
                   environment: Mapping[str, str], network: str, emit: Emit, mounts: MountFlags, stubs: Sequence[Stub],
                   take_changes: Callable[[Path], Awaitable[Changes]]) -> Changes:
    argv = run_argv(config, run)
    options = CreateOptions(image=image_id, cmd=argv, entrypoint=[], entrypoint_set=True, labels={STEP_LABEL: ""},
                            env=[f"{key}={value}" for key, value in environment.items()],
                            network=run.network if run.network not in (None, "default") else network,
                            mounts=mounts)

    started: list[str] = []

    def on_start(container_id: str) -> None:
        started.append(container_id)
        emit(StepStatus(text=f" ---> Running in {container_id[:12]}"))

    async def changes(upper: Path) -> Changes:
        strip_mountpoints(upper)
        remove_stubs(upper, stubs)
        return await take_changes(upper)

    code, result = await runner.build_step(options, on_start=on_start,
                                           output=lambda chunk: emit(StepOutput(data=chunk.data)),
                                           take_changes=changes)
    if code != 0 or result is None:
        raise StepFailed(f"The command '{' '.join(argv)}' returned a non-zero code: {code}", code or 1)
    emit(StepStatus(text=f"Removing intermediate container {started[0][:12]}"))
    return result
