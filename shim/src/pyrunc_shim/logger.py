"""`binary://` log URIs (`ctr run --log-uri binary:///path/to/logger?key=value`, nerdctl's logging).

As containerd-shim-runc-v2 does (pkg/process/io.go, NewBinaryIO): the shim starts the binary
with the query's keys and first values as arguments and only CONTAINER_ID and CONTAINER_NAMESPACE
in its environment; it reads the process's stdout from fd 3 and stderr from fd 4, and is ready
once it closes (or writes to) fd 5, which the shim waits for before the process is created. At
Delete the shim closes its ends of the pipes, sends SIGTERM and waits for the logger, killing
it after 12 s. The logger is tracked by a pidfd: the shim's reaper may reap it at any time, and
a pidfd never signals whoever reuses its pid.
"""

import os
import select
import signal
from urllib.parse import parse_qsl, urlsplit

READY_TIMEOUT = 10.0  # containerd waits forever; a logger that never signals must not hang the shim
STOP_TIMEOUT = 12.0  # containerd's binaryIOProcTermTimeout


def is_binary_uri(uri: str) -> bool:
    return uri.startswith("binary://")


def logger_argv(uri: str) -> list[str]:
    """The logger's argv: its path, then each query key (once, in order) and its first value."""
    parts = urlsplit(uri)
    if not parts.path:
        raise OSError(f"no logging binary path in log URI {uri!r}")
    args: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        args.setdefault(key, value)
    return [parts.path, *(x for kv in args.items() for x in kv)]


def _high(fd: int) -> int:
    """A copy above the descriptors the child gets (0 to 5), so no dup2 overwrites another's source."""
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 6)


class BinaryLogger:
    """A running logging binary; stdout and stderr are the shim's write ends of its pipes."""

    def __init__(self, uri: str, process_id: str, namespace: str) -> None:
        argv = logger_argv(uri)
        env = {"CONTAINER_ID": process_id, "CONTAINER_NAMESPACE": namespace}
        out_r, self.stdout = os.pipe2(os.O_CLOEXEC)
        err_r, self.stderr = os.pipe2(os.O_CLOEXEC)
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        child = [_high(fd) for fd in (os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC), out_r, err_r, ready_w)]
        for fd in (out_r, err_r, ready_w):
            os.close(fd)
        null = child[0]
        actions = [(os.POSIX_SPAWN_DUP2, fd, i) for i, fd in enumerate([null, null, null, *child[1:]])]
        self.pidfd = -1
        try:
            try:
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions,
                                     setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
            except OSError as e:
                raise OSError(f"failed to start binary process: {argv[0]}: {e.strerror}") from e
            finally:
                for fd in child:
                    os.close(fd)
                child = []
            self.pidfd = os.pidfd_open(pid)
            ready, _, _ = select.select([ready_r], [], [], READY_TIMEOUT)
            if not ready:
                raise OSError(f"logging binary {argv[0]} not ready after {READY_TIMEOUT:.0f}s")
            # a byte or EOF: ready either way; a logger that exited without signalling gets no
            # output, as under containerd
        except BaseException:
            self.close(timeout=0)
            raise
        finally:
            os.close(ready_r)

    def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """End the pipes, ask the logger to finish (SIGTERM), wait up to timeout, then kill it."""
        for fd in (self.stdout, self.stderr):
            if fd >= 0:
                os.close(fd)
        self.stdout = self.stderr = -1
        if self.pidfd < 0:
            return
        try:
            if timeout > 0:
                signal.pidfd_send_signal(self.pidfd, signal.SIGTERM)
            ended, _, _ = select.select([self.pidfd], [], [], timeout)
            if not ended:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                select.select([self.pidfd], [], [], 1.0)
            # reaped here, so none is left when Delete returns (the reaper only runs between RPCs)
            os.waitid(os.P_PIDFD, self.pidfd, os.WEXITED | os.WNOHANG)
        except (ProcessLookupError, ChildProcessError):
            pass  # the reaper had it already
        finally:
            os.close(self.pidfd)
            self.pidfd = -1
