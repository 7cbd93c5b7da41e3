"""`diff`: the container's changes to its image's files, docker's A/C/D lines (snapshots/changes.py).

The files the container's /etc/hostname, /etc/hosts and /etc/resolv.conf are bound over are made in its
upper dir when the image has none; docker makes them in a layer of its own, so they are no change."""

from ...snapshots.changes import Change, changes
from ...threads import in_thread
from ..context import Context

MOUNT_PLACEHOLDERS = frozenset({"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"})


async def diff(ctx: Context, text: str) -> list[Change]:
    rec = ctx.get(text)
    return await in_thread(changes, ctx.dir(rec.id) / "upper", ctx.lowers(rec), MOUNT_PLACEHOLDERS)
