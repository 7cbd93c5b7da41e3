"""`top`: `ps` on the host, rows kept for the container's processes, as docker top does."""

import asyncio
import subprocess

from ...errors import InvalidArgument
from ..context import Context


async def top(ctx: Context, text: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
    await ctx.runtime.ready()
    rec = ctx.get(text)
    live = ctx.runtime.running(rec)
    pids = set(await live.shim.pids())
    r = await asyncio.to_thread(subprocess.run, ["ps", *(ps_args or ["-ef"])], capture_output=True, text=True)
    if r.returncode != 0:
        raise InvalidArgument(f"ps {' '.join(ps_args)}: {r.stderr.strip()}")
    lines = r.stdout.splitlines()
    titles = lines[0].split()
    if "PID" not in titles:
        raise InvalidArgument("couldn't find PID field in ps output")
    col = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
            rows.append(fields)
    return titles, rows
