"""OOM notifications from the container's memory cgroup (cgroup v1: memory.oom_control).

An eventfd registered through cgroup.event_control becomes readable at each OOM kill in the
cgroup, and once more when the cgroup is removed. cgroup v2 (memory.events) is not watched.
"""

import os

MEMORY_V1 = "/sys/fs/cgroup/memory"


def memory_cgroup(pid: int) -> str:
    """The v1 memory cgroup directory of pid, or "" when there is none."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "memory" in controllers.split(","):
                    full = MEMORY_V1 + path
                    return full if os.path.isdir(full) else ""
    except OSError:
        pass
    return ""


class OOMWatch:
    def __init__(self, cgroup: str) -> None:
        self.cgroup = cgroup
        self.control = os.open(os.path.join(cgroup, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
        self.efd = os.eventfd(0, os.EFD_CLOEXEC)
        try:
            with open(os.path.join(cgroup, "cgroup.event_control"), "w") as f:
                f.write(f"{self.efd} {self.control}")
        except OSError:
            self.close()
            raise

    @classmethod
    def for_pid(cls, pid: int) -> "OOMWatch | None":
        cgroup = memory_cgroup(pid)
        if not cgroup:
            return None
        try:
            return cls(cgroup)
        except OSError:
            return None

    def read(self) -> bool:
        """Consume the event: True for an OOM, False when the cgroup is gone (stop watching)."""
        os.eventfd_read(self.efd)
        return os.path.exists(os.path.join(self.cgroup, "cgroup.event_control"))

    def close(self) -> None:
        for fd in (self.efd, self.control):
            try:
                os.close(fd)
            except OSError:
                pass
