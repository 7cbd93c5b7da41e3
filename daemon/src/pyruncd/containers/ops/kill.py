"""`kill`: a signal to the container's init (SIGKILL by default, then to all its processes)."""

from .. import spec as specs
from ..context import Context


async def kill(ctx: Context, text: str, signal: str = "") -> None:
    await ctx.runtime.ready()
    rec = ctx.get(text)
    live = ctx.runtime.running(rec)
    sig = specs.parse_signal(signal or "SIGKILL")
    await live.shim.kill(sig, sig == 9)
    ctx.runtime.announce("kill", rec, signal=str(sig))
