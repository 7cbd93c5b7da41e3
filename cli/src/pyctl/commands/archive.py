"""save and load: image tars to and from the daemon, streamed in chunks."""

from __future__ import annotations

import argparse
import os
import sys

from ..api import Api
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import BinaryIO

_CHUNK = 1 << 20


def save(api: Api, args: argparse.Namespace) -> int:
    if not args.output and sys.stdout.isatty():
        raise CLIError("Cowardly refusing to save to a terminal. Use the -o flag or redirect")
    chunks = api.images.save(args.images, oci=args.format == "oci")
    if not args.output:
        out = sys.stdout.buffer
        for data in chunks:
            out.write(data)
        out.flush()
        return 0
    tmp = f"{args.output}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            for data in chunks:
                f.write(data)
        os.rename(tmp, args.output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return 0


def _directory_chunks(path: str) -> Iterator[bytes]:
    """An OCI layout directory as a tar stream, made in a thread and handed over through a pipe."""
    import tarfile
    import threading
    from pathlib import Path

    directory = Path(path)

    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "wb") as out, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            for root, dirs, files in os.walk(directory):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    tf.add(full, arcname=str(full.relative_to(directory)), recursive=False)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    with os.fdopen(r, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk
    t.join()


def _file_chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def load(api: Api, args: argparse.Namespace) -> int:
    chunks: Iterator[bytes]
    if args.input and os.path.isdir(args.input):
        chunks = _directory_chunks(args.input)
    elif args.input:
        try:
            f = open(args.input, "rb")
        except OSError as e:
            raise CLIError(f"open {args.input}: {e.strerror}") from None
        chunks = _file_chunks(f)
    else:
        if sys.stdin.isatty():
            raise CLIError("requested load from stdin, but stdin is empty")
        chunks = _file_chunks(sys.stdin.buffer)
    loaded = api.images.load(chunks)
    if not args.quiet:
        for line in loaded:
            sys.stdout.write(line + "\n")
    return 0


def add_save(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("-o", "--output", default="", help="write to a file instead of standard output")
    p.add_argument("--format", choices=["docker", "oci"], default="docker",
                   help="docker: docker-archive plus OCI layout (default); oci: stored manifests verbatim")
    p.set_defaults(func=save)


def add_load(p: argparse.ArgumentParser) -> None:
    p.add_argument("-i", "--input", default="", help="a tar (docker-archive or OCI layout) or an OCI layout directory")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=load)
