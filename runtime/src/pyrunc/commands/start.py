"""`pyrunc start`: release a created container's process into the user's program."""

import os

from ..container import EXEC_FIFO, RUNNING, Container
from ..errors import PyruncError


def start(ctx, args):
    c = Container.load(ctx.root, args[0])
    try:
        c.require("start")
        release(c)
    finally:
        c.unlock()
    run_poststart(c, ctx.log)


def release(c):
    """Open the exec fifo: init, blocked opening its write end, runs startContainer hooks
    and writes "0" (or "E<error>"), then execs, which closes its end; a failed execve
    writes "E<error>" after the "0"."""
    import select

    path = c.path(EXEC_FIFO)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    data = b""
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            if poller.poll(100):
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
            elif not c.init_alive():
                break
    finally:
        os.close(fd)
        os.unlink(path)
    if data.startswith((b"E", b"0E")):
        from .kill import kill_all_and_wait

        kill_all_and_wait(c)
        raise PyruncError(data.partition(b"E")[2].decode(errors="replace"))
    if data != b"0":
        raise PyruncError("container process exited before start")


def run_poststart(c, log):
    if "poststart" in c.state["hooks"]:
        from .. import hooks

        try:
            hooks.run(c.spec().hooks.poststart, c.oci_state(status=RUNNING), "poststart")
        except PyruncError as e:
            log.warning(str(e))
