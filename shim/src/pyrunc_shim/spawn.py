"""Run a command and wait for it: subprocess's job, on os.posix_spawn.

The shim runs the runtime CLI for every RPC and lives as long as its container; subprocess
(with selectors, threading and friends) would cost it ~2.5 MB of memory for what is a spawn
and a waitpid. The shim's event loop only reaps (waitpid -1) between RPCs, so waiting for a
specific pid here never races with it.
"""

import _signal  # `signal` without its enum import (~3 ms of `shim delete`)
import os
import select

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Callable

    # starts args with the three descriptors as its stdin, stdout and stderr; returns the child's pid
    Starter = Callable[[list[str], list[int]], int]


class Result:
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def posix_spawn(args: list[str], fds: list[int]) -> int:
    """exec args[0] (a PATH search); SIGPIPE and SIGXFSZ back to their defaults: Python ignores
    them, and an ignored signal stays ignored across an exec."""
    actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate(fds)]
    return os.posix_spawnp(args[0], args, os.environ, file_actions=actions,
                           setsigdef=(_signal.SIGPIPE, _signal.SIGXFSZ))


def run(args: list[str], stdin: int | None = None, stdout: int | None = None, stderr: int | None = None,
        input: bytes | None = None, capture: bool = False, start: "Starter" = posix_spawn) -> Result:
    """stdin/stdout/stderr: descriptors for the child (None: /dev/null, or with capture=True a
    pipe whose contents are returned); input: bytes written to the child's stdin; start: how the
    child is made (inprocess.py forks one that runs pyrunc without exec)."""
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    fds = [stdin, stdout, stderr]
    child_ends: list[int] = []
    feed = -1
    if input is not None:
        child_stdin, feed = os.pipe2(os.O_CLOEXEC)
        fds[0] = child_stdin
        child_ends.append(child_stdin)
    captured: dict[int, int] = {}  # our read end -> 1 or 2
    for i in (1, 2):
        if fds[i] is None and capture:
            r, child_end = os.pipe2(os.O_CLOEXEC)
            fds[i] = child_end
            child_ends.append(child_end)
            captured[r] = i
    try:
        pid = start(args, [fd if fd is not None else null for fd in fds])
    except OSError:
        for fd in [*captured, feed]:
            if fd >= 0:
                os.close(fd)
        raise
    finally:
        for fd in [null, *child_ends]:
            os.close(fd)
    if input is not None:  # feed is open
        try:
            os.write(feed, input)  # small (a resources JSON): fits in the pipe buffer
        except BrokenPipeError:
            pass
        os.close(feed)
    out = {1: bytearray(), 2: bytearray()}
    while captured:
        ready, _, _ = select.select(list(captured), [], [])
        for fd in ready:
            chunk = os.read(fd, 65536)
            if chunk:
                out[captured[fd]] += chunk
            else:
                os.close(fd)
                del captured[fd]
    _, status = os.waitpid(pid, 0)
    return Result(os.waitstatus_to_exitcode(status), bytes(out[1]), bytes(out[2]))
