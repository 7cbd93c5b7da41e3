"""`container prune`: every stopped container removed."""

from ...fsutil import du
from ...threads import in_thread
from ..context import Context
from ..types import Status
from .remove import remove


async def prune(ctx: Context) -> tuple[list[str], int]:
    """The ids removed, and the bytes their writable layers held."""
    gone, freed = [], 0
    for rec in ctx.store.find(Status.CREATED, Status.EXITED):
        freed += await in_thread(du, ctx.dir(rec.id) / "upper")
        await remove(ctx, rec.id)
        gone.append(rec.id)
    return gone, freed
