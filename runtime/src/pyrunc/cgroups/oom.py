"""Watching a cgroup for OOM kills, for `pyrunc events`.

Each watch has fileno() and `events` (the poll mask to wait for) and read(),
which returns how many OOM events happened since the last read, or None once
the cgroup is gone (the container stopped and was cleaned up).
"""

import os
import select


class V1OOMWatch:
    """memory.oom_control through an eventfd registered in cgroup.event_control."""

    events = select.POLLIN

    def __init__(self, memory_dir):
        self.dir = memory_dir
        self._efd = os.eventfd(0, os.EFD_CLOEXEC)
        ctl = os.open(os.path.join(memory_dir, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        try:
            fd = os.open(os.path.join(memory_dir, "cgroup.event_control"), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
            try:
                os.write(fd, f"{self._efd} {ctl}".encode())
            finally:
                os.close(fd)
        except OSError:
            os.close(self._efd)
            raise
        finally:
            # the kernel holds its own reference from here on
            os.close(ctl)

    def fileno(self):
        return self._efd

    def read(self):
        count = os.eventfd_read(self._efd)
        # removing the cgroup also signals the eventfd
        if not os.path.isdir(self.dir):
            return None
        return count

    def close(self):
        os.close(self._efd)


class V2OOMWatch:
    """memory.events: the kernel wakes pollers (POLLPRI) whenever a counter changes."""

    events = select.POLLPRI | select.POLLERR

    def __init__(self, directory):
        self.dir = directory
        self._fd = os.open(os.path.join(directory, "memory.events"), os.O_RDONLY | os.O_CLOEXEC)
        self._seen = self._oom_kills()

    def fileno(self):
        return self._fd

    def _oom_kills(self):
        os.lseek(self._fd, 0, os.SEEK_SET)
        for line in os.read(self._fd, 4096).decode().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def read(self):
        if not os.path.isdir(self.dir):
            return None
        try:
            now = self._oom_kills()
        except OSError:
            return None
        new, self._seen = now - self._seen, now
        return max(new, 0)

    def close(self):
        os.close(self._fd)
