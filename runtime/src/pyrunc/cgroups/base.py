"""What the v1 and v2 backends share: the Cgroup interface, and where their warnings go.

Its own module so that the backends need not import the package, whose factory imports them.
"""

_logger = None


def set_logger(log):
    """Where warnings go (an errors.Log); the command in hand sets its own."""
    global _logger
    _logger = log


def warn(msg):
    global _logger
    if _logger is None:
        from ..errors import Log

        _logger = Log()
    _logger.warning(msg)


class Cgroup:
    """One container's cgroup, in every hierarchy the host has. See v1.py and v2.py."""

    version = ""

    def to_state(self) -> dict:
        raise NotImplementedError

    def create(self) -> None:
        raise NotImplementedError

    def apply(self, resources) -> None:
        raise NotImplementedError

    def add(self, pid: int) -> None:
        raise NotImplementedError

    def pids(self) -> list[int]:
        raise NotImplementedError

    def freeze(self) -> None:
        raise NotImplementedError

    def thaw(self) -> None:
        raise NotImplementedError

    def is_frozen(self) -> bool:
        raise NotImplementedError

    def stats(self) -> dict:
        raise NotImplementedError

    def destroy(self) -> None:
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def oom_watch(self):
        """An OOMWatch (fileno(), poll events, read()) for `events`; see oom.py."""
        raise NotImplementedError
