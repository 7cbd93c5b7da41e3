"""OOM notifications from the container's memory cgroup, for the TaskOOM event.

cgroup v1: an eventfd registered through cgroup.event_control on memory.oom_control becomes
readable at each OOM kill in the cgroup, and once more when the cgroup is removed.
cgroup v2: memory.events counts oom_kill; inotify reports each change of the file (as
containerd's cgroups library watches it), and an OOM is a rise of the count.
Both are polled once more at the init's exit, so the TaskOOM of a kill goes out before its TaskExit.
"""

import os

MEMORY_V1 = "/sys/fs/cgroup/memory"
UNIFIED = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")  # pure v2, then a hybrid host's v2 mount
IN_MODIFY = 0x2
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC


def memory_cgroup(pid: int) -> tuple[int, str]:
    """(1, v1 memory cgroup directory) or (2, v2 cgroup directory with memory.events) of pid, or (0, "")."""
    v2 = ""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                hierarchy, controllers, path = line.rstrip("\n").split(":", 2)
                if "memory" in controllers.split(","):
                    full = MEMORY_V1 + path
                    return (1, full) if os.path.isdir(full) else (0, "")
                if hierarchy == "0" and not controllers:
                    v2 = path
    except (OSError, ValueError):
        return 0, ""
    for root in UNIFIED if v2 else ():
        full = root + v2
        if os.path.exists(os.path.join(full, "memory.events")):
            return 2, full
    return 0, ""


def oom_kills(memory_events: str) -> int:
    """The oom_kill count of a memory.events text ("key value" lines); 0 when absent."""
    for line in memory_events.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


class OOMWatch:
    """cgroup v1: memory.oom_control through cgroup.event_control."""

    def __init__(self, cgroup: str) -> None:
        self.cgroup = cgroup
        self.control = os.open(os.path.join(cgroup, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        self.fd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            with open(os.path.join(cgroup, "cgroup.event_control"), "w") as f:
                f.write(f"{self.fd} {self.control}")
        except OSError:
            self.close()
            raise

    @staticmethod
    def for_pid(pid: int) -> "OOMWatch | OOMWatchV2 | None":
        return OOMWatch.for_cgroup(*memory_cgroup(pid))

    @staticmethod
    def for_cgroup(version: int, cgroup: str) -> "OOMWatch | OOMWatchV2 | None":
        """A watch of what memory_cgroup() found; None for none (version 0) or one gone since."""
        try:
            return OOMWatch(cgroup) if version == 1 else OOMWatchV2(cgroup) if version == 2 else None
        except OSError:
            return None

    def read(self) -> tuple[bool, bool]:
        """Consume what is pending: (an OOM happened, keep watching)."""
        try:
            os.eventfd_read(self.fd)
        except BlockingIOError:
            return False, True
        alive = os.path.exists(os.path.join(self.cgroup, "cgroup.event_control"))
        return alive, alive

    def close(self) -> None:
        for fd in (self.fd, self.control):
            try:
                os.close(fd)
            except OSError:
                pass


class OOMWatchV2:
    """cgroup v2: the oom_kill count of memory.events, re-read at each inotify IN_MODIFY."""

    def __init__(self, cgroup: str) -> None:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        self.events = os.path.join(cgroup, "memory.events")
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, os.fsencode(self.events), IN_MODIFY) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch", self.events)
        self.seen = self._count()

    def _count(self) -> int:
        try:
            with open(self.events) as f:
                return oom_kills(f.read(4096))
        except OSError:
            return -1

    def read(self) -> tuple[bool, bool]:
        try:
            os.read(self.fd, 4096)  # drain: the count says what happened
        except BlockingIOError:
            pass
        count = self._count()
        if count < 0:
            return False, False  # the cgroup is gone
        oom, self.seen = count > self.seen, max(count, self.seen)
        return oom, True

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass
