"""`pyrunc kill`: send a signal to the container's init, or with --all to all its processes."""

# _signal is the C module under `signal`: the same functions and numbers, without
# the enum classes whose import costs ~5 ms of every kill, delete and run
import _signal
import os

from ..container import Container, wait_gone
from ..errors import UNKNOWN_SIGNAL, PyruncError, reason


def parse_signal(text):
    """runc accepts KILL, SIGKILL, sigkill or 9."""
    if text.isdigit():
        return int(text)
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    sig = getattr(_signal, name, None) if not name.startswith("SIG_") else None
    if not isinstance(sig, int):
        raise PyruncError(UNKNOWN_SIGNAL.format(name=text))
    return sig


def kill(ctx, args, all=False):
    sig = parse_signal(args[1] if len(args) > 1 else "SIGTERM")
    c = Container.load(ctx.root, args[0])
    try:
        c.require("kill")
        if all:
            signal_all(c, sig)
        else:
            try:
                os.kill(c.pid, sig)
            except OSError as e:
                raise PyruncError(f"unable to signal init: {reason(e)}") from None
    finally:
        c.unlock()


def signal_all(c, sig):
    cgroup = c.cgroup()
    frozen = cgroup.is_frozen()
    for pid in cgroup.pids():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    if frozen and sig == _signal.SIGKILL:
        cgroup.thaw()  # a frozen task cannot die


def kill_all_and_wait(c):
    """SIGKILL everything in the container and wait until none of it runs (zombies count as gone:
    whoever reaps them, often the host's init, may take its time)."""
    import time

    from ..container import process_start_time

    signal_all(c, _signal.SIGKILL)
    try:
        os.kill(c.pid, _signal.SIGKILL)
    except ProcessLookupError:
        pass
    wait_gone(c.pid)
    cgroup = c.cgroup()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = [p for p in cgroup.pids() if process_start_time(p)[1] not in (None, "Z", "X")]
        if not alive:
            break
        for pid in alive:
            try:
                os.kill(pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.002)
