"""`logs`: the json-file entries, across rotations; with `follow`, those written until the container exits."""

from collections.abc import AsyncIterator

from .. import logs as logfiles
from ..context import Context
from ..logs import Entry, parse_since


async def logs(ctx: Context, text: str, follow: bool, tail: int, since: str) -> AsyncIterator[Entry]:
    await ctx.runtime.ready()
    rec = ctx.get(text)
    after = parse_since(since)
    live = ctx.runtime.live(rec.id) if follow else None
    async for e in logfiles.read(ctx.log_path(rec.id), ctx.log_config(rec).max_file,
                                 live.log if live is not None else None, tail=tail, after=after):
        yield e
