"""cp: files between a container and the local filesystem, as tar streams."""

from __future__ import annotations

import argparse
import os
import sys

from ..api import Api
from ..errors import CLIError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tarfile
    from collections.abc import Iterator
    from typing import BinaryIO


def _split(arg: str) -> tuple[str, str]:
    """CONTAINER:PATH -> (container, path); a local path -> ("", path), as docker tells them apart."""
    name, colon, path = arg.partition(":")
    if not colon or "/" in name or arg.startswith((".", "/")):
        return "", arg
    return name, path


def _extract(tar: tarfile.TarFile, dest: str) -> None:
    """Into DEST when it is a directory, else as DEST (the archive's top entry renamed), as docker cp does."""
    if os.path.isdir(dest):
        tar.extractall(dest, filter="tar")
        return
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise CLIError(f"destination directory {parent!r} does not exist")
    new = os.path.basename(os.path.abspath(dest))
    for m in tar:
        top = m.name.split("/")[0]
        m.name = new + m.name[len(top):]
        tar.extract(m, parent, filter="tar")


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while data := f.read(1 << 20):
        yield data


def cp(api: Api, args: argparse.Namespace) -> int:
    import tarfile
    import tempfile

    src_c, src = _split(args.src)
    dst_c, dst = _split(args.dest)
    if bool(src_c) == bool(dst_c):
        raise CLIError("copying between containers or between local paths is not supported: "
                       "one of SRC and DEST must be CONTAINER:PATH")
    if src_c:
        stream = api.containers.copy_from(src_c, src)
        if dst == "-":
            for data in stream:
                sys.stdout.buffer.write(data)
            return 0
        with tempfile.TemporaryFile() as spool:
            for data in stream:
                spool.write(data)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r|") as tar:
                _extract(tar, dst)
        return 0
    if src == "-":
        api.containers.copy_to(dst_c, dst, _chunks(sys.stdin.buffer))
        return 0
    if not os.path.lexists(src):
        raise CLIError(f"lstat {src}: no such file or directory")
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w|") as tar:
            tar.add(src, arcname=os.path.basename(os.path.abspath(src)))
        spool.seek(0)
        api.containers.copy_to(dst_c, dst, _chunks(spool))
    return 0


def add_cp(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", metavar="SRC", help="CONTAINER:PATH or a local path (- for a tar on stdin)")
    p.add_argument("dest", metavar="DEST", help="CONTAINER:PATH or a local path (- for a tar on stdout)")
    p.set_defaults(func=cp)
