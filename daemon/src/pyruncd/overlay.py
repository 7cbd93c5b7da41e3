"""Overlay mounts the daemon makes itself (cp on a stopped container, volume seeding).

mount(2) takes its options in one page: a deep image's absolute lowerdirs overflow it. As containerd
does (and our shim, for the containers' own rootfs), mount(8) then runs from the lowerdirs' common
parent with the lowerdirs relative to it.
"""

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from .errors import InvalidArgument

_OPTIONS_MAX = os.sysconf("SC_PAGESIZE") - 1


def _options(lowers: list[Path], upper: Path, work: Path) -> tuple[str | None, str]:
    """(the directory to mount from, or None; the options)"""
    tail = f",upperdir={upper},workdir={work}"
    absolute = "lowerdir=" + ":".join(map(str, lowers)) + tail
    if len(absolute) <= _OPTIONS_MAX or len(lowers) < 2:
        return None, absolute
    common = os.path.commonpath(lowers)
    return common, "lowerdir=" + ":".join(os.path.relpath(p, common) for p in lowers) + tail


@contextlib.contextmanager
def mounted(lowers: list[Path], upper: Path, work: Path, target: Path, what: str) -> Iterator[Path]:
    """The overlay at target (made, then removed) for the while; `what` names it in errors."""
    target.mkdir(exist_ok=True)
    cwd, opts = _options(lowers, upper, work)
    r = subprocess.run(["mount", "-t", "overlay", "-o", opts, "overlay", str(target)], cwd=cwd,
                       capture_output=True, text=True)
    if r.returncode != 0:
        target.rmdir()
        raise InvalidArgument(f"mount {what}: {r.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=False)
        target.rmdir()
