"""`wait`: the exit code, once the container exited (at once if it has)."""

from ..context import Context
from ..types import Status


async def wait(ctx: Context, text: str) -> int:
    rec = ctx.get(text)
    if rec.status in (Status.EXITED, Status.REMOVING):
        return rec.exit_code
    return await ctx.runtime.exit_future(rec.id)
