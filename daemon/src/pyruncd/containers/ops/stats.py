"""`stats`: one sample of each running container named (every running one when none is)."""

from pathlib import Path

from .. import stats
from ..context import Context
from ..shimapi import ShimError
from ..types import Record
from .inspect import records


async def sample(ctx: Context, names: list[str]) -> list[tuple[Record, stats.Sample]]:
    recs = [ctx.get(n) for n in names] if names else records(ctx, all=False)
    out = []
    for rec in recs:
        live = ctx.runtime.live(rec.id)
        if live is None or not rec.live:
            out.append((rec, stats.Sample()))  # as docker: a stopped container shows zeros
            continue
        try:
            data = await live.shim.stats()
        except (ShimError, OSError):
            out.append((rec, stats.Sample()))
            continue
        blkio = Path("/sys/fs/cgroup/blkio") / ctx.cgroup_parent.strip("/") / rec.id
        out.append((rec, stats.sample(data, rec.pid, blkio, rec.config.settings.network == "host")))
    return out
