"""`kill`: a signal to the container's init (SIGKILL by default, then to all its processes)."""

from ...errors import PyruncdError
from .. import spec as specs
from ..context import Context


async def kill(ctx: Context, text: str, signal: str = "") -> None:
    await ctx.runtime.ready()
    sig = specs.parse_signal(signal or "SIGKILL")  # a bad signal is refused before the name is looked up
    try:
        rec = ctx.get(text)
        live = ctx.runtime.running(rec)
    except PyruncdError as e:
        # dockerd's kill route wraps its backend's errors so; the kind (not found, conflict) stays
        raise type(e)(f"Cannot kill container: {text}: {e}") from None
    await live.shim.kill(sig, sig == 9)
    ctx.runtime.announce("kill", rec, signal=str(sig))
