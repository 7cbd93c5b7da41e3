"""`pyrunc ps`: the processes in the container's cgroup, via the host's ps."""

import subprocess
import sys

from .. import jsonio
from ..container import Container
from ..errors import PyruncError, UsageError


def ps(ctx, args, format=None):
    fmt = format or "table"
    if fmt not in ("table", "json"):
        raise UsageError(f'invalid format option "{fmt}": expected table or json')
    c = Container.load(ctx.root, args[0], lock=False)
    c.require("ps")
    pids = c.cgroup().pids()
    if fmt == "json":
        sys.stdout.write(jsonio.dumps(pids) + "\n")
        return
    ps_args = args[1:] or ["-ef"]
    try:
        out = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise PyruncError(f"ps: {getattr(e, 'stderr', '') or e}") from None
    lines = out.splitlines()
    if not lines:
        return
    header = lines[0].split()
    try:
        pid_col = header.index("PID")
    except ValueError:
        raise PyruncError("couldn't find PID field in ps output") from None
    wanted = set(pids)
    keep = [lines[0]] + [ln for ln in lines[1:] if _pid_of(ln, pid_col) in wanted]
    sys.stdout.write("\n".join(keep) + "\n")


def _pid_of(line, col):
    fields = line.split()
    try:
        return int(fields[col])
    except (IndexError, ValueError):
        return None
