"""Errors whose words other programs parse, and the log writer that emits them.

containerd, dockerd and podman match substrings of runc's messages ("does not
exist", "container not running", ...) and read the last line of the --log
file when --log-format is json. These strings are API: change none of them
without checking what the engines match.
"""

import os
import sys
import time

CONTAINER_NOT_EXIST = "container does not exist"
CONTAINER_EXISTS = "container with given ID already exists"
INVALID_ID = "invalid container ID format"
NOT_RUNNING = "container not running"
START_RUNNING = "cannot start an already running container"
START_STOPPED = "cannot start a container that has stopped"
EXEC_STOPPED = "cannot exec in a stopped container"
DELETE_NOT_STOPPED = "cannot delete container {id} that is not stopped: {status}"
PAUSE_NOT_RUNNING = "container not running"
RESUME_NOT_PAUSED = "container not paused"
EXECUTABLE_NOT_FOUND = 'exec: "{name}": executable file not found in $PATH'
UNKNOWN_SIGNAL = 'unknown signal "{name}"'


class PyruncError(Exception):
    """An error the CLI reports as it is, then exits non-zero."""

    exit_code = 1


class ConfigError(PyruncError):
    """config.json (or a --process file) is malformed; the message names the field."""


class UsageError(PyruncError):
    """Bad command line; the message names the flag or argument."""


class NotExistError(PyruncError):
    def __init__(self, msg=CONTAINER_NOT_EXIST):
        super().__init__(msg)


class StateTransitionError(PyruncError):
    """The container's status does not allow the operation."""


class ContainerProcessError(PyruncError):
    """The container's process failed before the user's program ran."""

    def __init__(self, msg):
        super().__init__(f"unable to start container process: {msg}")


def reason(e: OSError) -> str:
    """An OS error's text as Go's syscall errors read: strerror, in lower case."""
    return (e.strerror or str(e)).lower()


def _timestamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Log:
    """runc's logging: logrus text on stderr, or text/JSON lines in --log."""

    def __init__(self, path=None, fmt="text", debug=False):
        self.path = path
        self.fmt = fmt
        self.debug_enabled = debug

    def _line(self, level, msg):
        if self.fmt == "json":
            from . import jsonio

            return jsonio.dumps({"level": level, "msg": msg, "time": _timestamp()}) + "\n"
        return f'time="{_timestamp()}" level={level} msg="{_escape(msg)}"\n'

    def _write(self, level, msg):
        line = self._line(level, msg)
        if self.path:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        else:
            sys.stderr.write(line)
            sys.stderr.flush()

    def error(self, msg):
        self._write("error", msg)
        if self.path:
            # runc also tells the person at the terminal, plainly
            sys.stderr.write(msg + "\n")
            sys.stderr.flush()

    def warning(self, msg):
        self._write("warning", msg)

    def debug(self, msg):
        if self.debug_enabled:
            self._write("debug", msg)


def _escape(msg):
    return msg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
