"""build: a Dockerfile and its context to the daemon, its progress back, as docker's classic builder shows it
(--progress plain, or auto off a terminal), plus, where a person watches (a terminal, or --progress plain),
" ... still running (20s)" after each 10 s a step stays silent (docker's classic builder and BuildKit's plain
output print nothing then). With --progress tty, or auto with stderr a terminal: BuildKit's live display
(build_tty.py).

The context is a directory, sent as a tar (links as links, owners 0:0 as the docker CLI sends them), less
what its .dockerignore names (applied here, as the docker CLI does; the daemon applies it again, as it
does to a tar context), or `-`: a tar on stdin, or a lone Dockerfile there.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import output
from ..api import Api
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

    from pyrunc_dockerignore import IgnoreMatcher
    from pyrunc_proto.messages import pyrunc_build_v1_BuildProgress as BuildProgress

    from ..api.types import BuildOptions

_CHUNK = 1 << 20
_TAR_MAGIC = b"ustar"


def _ignore_matcher(root: str, dockerfile: str) -> IgnoreMatcher | None:
    """The context's .dockerignore, applied here as the docker CLI does, so what it names never crosses
    the socket (nor counts against the daemon's context limit). One the reader refuses is sent as it is,
    with everything: the daemon says what is wrong with it."""
    from pyrunc_dockerignore import DOCKERIGNORE, IgnoreFileError, IgnoreMatcher, read_ignore_file

    try:
        with open(os.path.join(root, DOCKERIGNORE), encoding="utf-8", errors="replace") as f:
            return IgnoreMatcher.for_build(read_ignore_file(f.read()), dockerfile)
    except (OSError, IgnoreFileError):
        return None


def _directory_tar(root: str, matcher: IgnoreMatcher | None) -> Iterator[bytes]:
    """The directory as a tar stream, less what `matcher` ignores (a directory it ignores is walked only
    when an exception may keep something below it, as moby's archive walk), written in a thread and
    handed over through a pipe."""
    import tarfile
    import threading

    r, w = os.pipe()
    failure: list[BaseException] = []

    def entry(tf: tarfile.TarFile, path: str, arcname: str) -> None:
        info = tf.gettarinfo(path, arcname=arcname)
        if info is None or not (info.isreg() or info.isdir() or info.issym()):
            return  # sockets, devices and fifos are not sent, as the docker CLI's tar leaves them
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        if info.isreg():
            with open(path, "rb") as f:
                tf.addfile(info, f)
        else:
            tf.addfile(info)

    def writer() -> None:
        try:
            with os.fdopen(w, "wb") as out, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
                for directory, dirs, files in os.walk(root):
                    relative = os.path.relpath(directory, root)
                    ignored_dirs = set()
                    for name in list(dirs):
                        arcname = name if relative == "." else f"{relative}/{name}"
                        if matcher is not None and matcher.ignores(arcname):
                            ignored_dirs.add(name)
                            if not matcher.may_keep_below(arcname):
                                dirs.remove(name)
                    dirs.sort()
                    for name in sorted(dirs + files):
                        arcname = name if relative == "." else f"{relative}/{name}"
                        if name in ignored_dirs or (matcher is not None and matcher.ignores(arcname)):
                            continue
                        entry(tf, os.path.join(directory, name), arcname)
        except BaseException as e:  # noqa: BLE001 - handed to the reading side
            failure.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with os.fdopen(r, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk
    t.join()
    if failure:
        raise CLIError(f"error checking context: {failure[0]}")


def directory_context(root: str, dockerfile: str) -> Iterator[bytes]:
    """A directory context as pyctl sends it (`build`, `compose build`): a tar stream, less what its
    .dockerignore leaves out."""
    return _directory_tar(root, _ignore_matcher(root, dockerfile))


def _stream(f: BinaryIO, first: bytes) -> Iterator[bytes]:
    if first:
        yield first
    while chunk := f.read(_CHUNK):
        yield chunk


def _stdin_context(options: BuildOptions) -> Iterator[bytes]:
    """stdin as the context: a tar (plain or compressed), or else a Dockerfile alone."""
    stdin = sys.stdin.buffer
    head = stdin.read(512)
    compressed = head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"))
    if compressed or head[257:262] == _TAR_MAGIC:
        return _stream(stdin, head)
    options["dockerfile_content"] = head + stdin.read()
    return iter(())


def _secret(spec: str) -> tuple[str, bytes]:
    """`--secret id=ID[,src=FILE|,env=VAR][,type=file|env]`, read as buildx reads it: without src or env, the
    variable named ID if it is set, else the file ID."""
    fields = dict(field.partition("=")[::2] for field in spec.split(","))
    secret_id = fields.get("id", "")
    if not secret_id:
        raise CLIError(f'invalid secret "{spec}": id is required')
    source = fields.get("src") or fields.get("source") or ""
    variable = fields.get("env", "")
    if not source and not variable:
        kind = fields.get("type") or ("env" if secret_id in os.environ else "file")
        source, variable = (secret_id, "") if kind == "file" else ("", secret_id)
    if variable:
        if variable not in os.environ:
            raise CLIError(f'secret {secret_id}: environment variable "{variable}" is not set')
        return secret_id, os.environ[variable].encode()
    try:
        with open(source, "rb") as f:
            return secret_id, f.read()
    except OSError as e:
        raise CLIError(f"failed to read secret {secret_id}: {e.strerror}: {source}") from None


def _options(args: argparse.Namespace) -> BuildOptions:
    build_args = {}
    for arg in args.build_arg:
        key, sep, value = arg.partition("=")
        if sep:
            build_args[key] = value
        elif key in os.environ:  # `--build-arg NAME` takes the value from the environment, as docker
            build_args[key] = os.environ[key]
    labels = dict(label.partition("=")[::2] for label in args.label)
    return {"tags": args.tag, "build_args": build_args, "target": args.target or "", "no_cache": args.no_cache,
            "pull": args.pull, "network": "" if args.network in (None, "default") else args.network,
            "labels": labels, "secrets": dict(_secret(spec) for spec in args.secret), "platform": args.platform}


def _context(args: argparse.Namespace, options: BuildOptions) -> Iterator[bytes]:
    if args.path == "-":
        if args.file == "-":
            raise CLIError("invalid argument: can't use stdin for both build context and dockerfile")
        chunks = _stdin_context(options)
        if args.file:
            options["dockerfile"] = args.file
        return chunks
    if not os.path.isdir(args.path):
        raise CLIError(f'unable to prepare context: path "{args.path}" not found')
    dockerfile = args.file or os.path.join(args.path, "Dockerfile")
    if dockerfile == "-":  # set even when empty: the daemon builds from it, not from the context
        options["dockerfile_content"] = sys.stdin.buffer.read()
    else:
        inside = os.path.relpath(os.path.abspath(dockerfile), os.path.abspath(args.path))
        if not os.path.exists(dockerfile):
            raise CLIError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                           f"lstat {os.path.abspath(dockerfile)}: no such file or directory")
        if inside.startswith(".."):
            with open(dockerfile, "rb") as f:
                options["dockerfile_content"] = f.read()
        else:
            options["dockerfile"] = inside
    return directory_context(args.path, options.get("dockerfile") or "Dockerfile")


class _Display:
    """What was printed last: a step's output may end mid-line, and the alive line must start its own."""

    def __init__(self, quiet: bool, alive: bool) -> None:
        self.quiet = quiet
        self.alive = alive  # show the daemon's "still running" events (--progress plain or tty)
        self.mid_line = False


def _show(reply: BuildProgress, display: _Display) -> str | None:
    """Print one event; the image id when it is the build's."""
    out = sys.stdout
    quiet = display.quiet
    kind = reply.WhichOneof("event")
    if reply.failure is not None:  # set only when it is the event
        raise CLIError(reply.failure.message, reply.failure.code or 1)
    if kind == "image_id":
        if not quiet:
            out.write(f"Successfully built {reply.image_id.removeprefix('sha256:')[:12]}\n")
        return reply.image_id
    if quiet:
        return None
    if kind == "output":
        out.flush()
        sys.stdout.buffer.write(reply.output)
        sys.stdout.buffer.flush()
        display.mid_line = not reply.output.endswith(b"\n")
        return None
    if kind == "alive":
        if not display.alive:
            return None
        out.write(f"{chr(10) if display.mid_line else ''} ... still running ({reply.alive:.0f}s)\n")
    elif kind == "tagged":
        out.write(f"Successfully tagged {reply.tagged}\n")
    elif kind is not None:
        out.write(getattr(reply, kind) + "\n")
    out.flush()
    display.mid_line = False
    return None


def _wants_tty(progress: str) -> bool:
    """--progress tty, or auto with stderr (where the frame goes) a terminal, as buildx decides."""
    return progress == "tty" or (progress == "auto" and sys.stderr.isatty())


def build(api: Api, args: argparse.Namespace) -> int:
    options = _options(args)
    chunks = _context(args, options)
    tty = None
    if not args.quiet and _wants_tty(args.progress):
        from .build_tty import TtyDisplay  # dataclasses and the display: ~12 ms a plain build does without

        tty = TtyDisplay(sys.stderr)
    stream = api.build.build(options, chunks if tty is None else tty.counted(chunks))
    image_id = None
    alive = args.progress == "plain" or args.progress == "tty" or (args.progress == "auto" and sys.stdout.isatty())
    display = _Display(args.quiet, alive)
    try:
        for reply in stream:
            if tty is None:
                image_id = _show(reply, display) or image_id
                continue
            image_id = tty.show(reply) or image_id
            if reply.failure is not None:
                raise CLIError(reply.failure.message, reply.failure.code or 1)
    except KeyboardInterrupt:
        stream.cancel()  # the daemon stops the build and removes what it was making
        raise
    finally:
        if tty is not None:
            tty.finish(failed=image_id is None)
    if image_id is None:
        raise CLIError("the build ended without an image")
    if args.quiet:
        print(image_id)
    if args.iidfile:
        with open(args.iidfile, "w") as f:
            f.write(image_id)
    return 0


def prune(api: Api, args: argparse.Namespace) -> int:
    if not args.force and not output.confirm("This will remove all dangling build cache."):
        return 0
    reply = api.build.prune()
    if reply.deleted:
        sys.stdout.write("Deleted build cache objects:\n")
        for image_id in reply.deleted:
            sys.stdout.write(f"{image_id}\n")
        sys.stdout.write("\n")
    sys.stdout.write(f"Total reclaimed space: {output.human_size(reply.space_reclaimed)}\n")
    return 0


def add_prune(p: argparse.ArgumentParser) -> None:
    p.add_argument("-a", "--all", action="store_true", help="all build cache (there is no other kind here)")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=prune)


def add_build(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--tag", action="append", default=[], help="name and optionally a tag (name:tag)")
    p.add_argument("-f", "--file", default="", help="the Dockerfile (default PATH/Dockerfile; - for stdin)")
    p.add_argument("--build-arg", action="append", default=[], metavar="K=V", help="set a build-time variable")
    p.add_argument("--target", default="", help="the stage to build")
    p.add_argument("--no-cache", action="store_true", help="do not use the cache")
    p.add_argument("--pull", action="store_true", help="always pull the base images")
    p.add_argument("--network", choices=["default", "bridge", "host", "none"], help="the RUN steps' network")
    p.add_argument("--label", action="append", default=[], metavar="K=V", help="set a label on the image")
    p.add_argument("--secret", action="append", default=[], metavar="id=ID,src=FILE",
                   help="a secret for RUN --mount=type=secret (id=ID plus src=FILE or env=VAR)")
    p.add_argument("--platform", default="", metavar="OS/ARCH", help="the target platform (this machine's by default)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    p.add_argument("--progress", choices=["auto", "plain", "tty"], default="auto", help="the progress output")
    p.add_argument("--iidfile", default="", help="write the image id to the file")
    p.add_argument("path", metavar="PATH|-", help="the context: a directory, or - for a tar (or Dockerfile) on stdin")
    p.set_defaults(func=build)
