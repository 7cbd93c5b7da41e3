"""commit, diff, export and import: a container's files as an image, a list of changes or a tar, and a tar as
an image."""

from __future__ import annotations

import argparse
import os
import sys

from ..api import Api
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import BinaryIO

_CHUNK = 1 << 20


# Go's strconv.ParseBool words: docker's boolean flags take them after "=" only (`-p c1` is -p and c1)
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


def _add_bool_flag(p: argparse.ArgumentParser, short: str, long: str, dest: str, default: bool, text: str) -> None:
    """A flag that never takes the next word as its value, and takes `--flag=false` as pflag does: each
    `--flag=WORD` is an option of its own (argparse matches a whole argument before splitting it at "=")."""
    p.add_argument(short, long, dest=dest, action="store_const", const=True, default=default, help=text)
    for value, words in ((True, _TRUE), (False, _FALSE)):
        p.add_argument(*(f"{flag}={w}" for flag in (short, long) for w in words), dest=dest,
                       action="store_const", const=value, help=argparse.SUPPRESS)


def commit(api: Api, args: argparse.Namespace) -> int:
    image_id = api.containers.commit(args.container, reference=args.reference or "", author=args.author,
                                     message=args.message, changes=args.change, pause=args.pause)
    sys.stdout.write(image_id + "\n")
    return 0


def diff(api: Api, args: argparse.Namespace) -> int:
    sys.stdout.write("".join(f"{c.kind} {c.path}\n" for c in api.containers.diff(args.container)))
    return 0


def _write_to(chunks: Iterable[bytes], path: str) -> None:
    """To standard output, or to `path` through a temporary file renamed once complete."""
    if not path:
        out = sys.stdout.buffer
        for data in chunks:
            out.write(data)
        out.flush()
        return
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for data in chunks:
                f.write(data)
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def export(api: Api, args: argparse.Namespace) -> int:
    if not args.output and sys.stdout.isatty():
        raise CLIError("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    _write_to(api.containers.export(args.container), args.output)
    return 0


def _file_chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def import_(api: Api, args: argparse.Namespace) -> int:
    if args.file == "-":
        chunks = _file_chunks(sys.stdin.buffer)
    else:
        try:
            f = open(args.file, "rb")
        except OSError as e:
            raise CLIError(f"open {args.file}: {e.strerror}") from None
        chunks = _file_chunks(f)
    image_id = api.images.import_(chunks, reference=args.reference or "", message=args.message, changes=args.change)
    sys.stdout.write(image_id + "\n")
    return 0


def add_commit(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    p.add_argument("-a", "--author", default="", help='author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
    p.add_argument("-c", "--change", action="append", default=[], help="apply a Dockerfile instruction to the image")
    p.add_argument("-m", "--message", default="", help="commit message")
    _add_bool_flag(p, "-p", "--pause", "pause", True, "pause the container during commit (default true)")
    p.set_defaults(func=commit)


def add_diff(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.set_defaults(func=diff)


def add_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("container")
    p.add_argument("-o", "--output", default="", help="write to a file, instead of standard output")
    p.set_defaults(func=export)


def add_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="file|-")
    p.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    p.add_argument("-c", "--change", action="append", default=[], help="apply a Dockerfile instruction to the image")
    p.add_argument("-m", "--message", default="", help="set the commit message for the imported image")
    p.set_defaults(func=import_)
