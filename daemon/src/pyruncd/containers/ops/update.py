"""`update` (limits, through the shim's Update while it runs, and the restart policy) and `rename`."""

from ...errors import InvalidArgument
from .. import resources as res
from ..context import Context
from ..restart import parse_restart
from ..shimapi import ShimError
from ..types import ResourceFlags


async def update(ctx: Context, text: str, flags: ResourceFlags, restart: str = "") -> None:
    cid = ctx.store.resolve(text)
    async with ctx.runtime.lock(cid):
        rec = ctx.get(cid)
        host = rec.config.host
        resources = res.parse_resources(base=host.resources, **vars(flags))
        policy = parse_restart(restart, rec.config.auto_remove) if restart else host.restart
        live = ctx.runtime.live(cid)
        if live is not None and flags.given():
            try:
                await live.shim.update(resources.to_oci())
            except ShimError as e:
                raise InvalidArgument(f"Cannot update container {cid}: {e}") from None
        host.resources, host.restart = resources, policy
        ctx.store.save(rec)
        ctx.runtime.announce("update", rec)


def rename(ctx: Context, text: str, new_name: str) -> None:
    rec = ctx.get(text)
    old, rec.name = rec.name, ctx.store.check_name(new_name)
    if rec.name == old:
        raise InvalidArgument("Renaming a container with the same name as its current name")
    ctx.store.rename(rec.id, rec.name)
    ctx.runtime.announce("rename", rec, oldName="/" + old)
