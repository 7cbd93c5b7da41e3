"""The shim is a child subreaper: every orphan of the container lands here and is reaped.

SIGCHLD only writes a byte to a pipe (signal.set_wakeup_fd); the event loop then reaps with
WNOHANG. The runtime CLI's own children are waited for by subprocess while the loop is busy
running them, so the two never race: this is why the shim is single-threaded around waitpid.
"""

import _signal  # `signal` without its enums: the reaper is on the shim's way to its first answer
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Callable


def exit_code(status: int) -> int:
    """containerd's convention: the exit code, or 128 + the signal that killed the process."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


class Reaper:
    def __init__(self, on_exit: "Callable[[int, int], None]") -> None:
        import _prctl  # python-prctl's C part: its Python part is ~1.4 ms to import

        _prctl.prctl(_prctl.PR_SET_CHILD_SUBREAPER, 1)
        self.on_exit = on_exit
        self.rfd, self.wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        _signal.signal(_signal.SIGCHLD, lambda *_: None)
        _signal.set_wakeup_fd(self.wfd, warn_on_full_buffer=False)

    def drain(self) -> None:
        """Called when the wake-up pipe is readable: reap everything that has exited."""
        try:
            while os.read(self.rfd, 512):
                pass
        except BlockingIOError:
            pass
        self.reap()

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.on_exit(pid, exit_code(status))
