"""The task's rootfs mounts (containerd's snapshot, usually one overlay), made with mount(8)."""

import os

from . import spawn
from .ttrpc.status import Code, TtrpcError


def mount_rootfs(mounts, target: str) -> None:
    for m in mounts:
        args = ["mount", "-t", m.type]
        if m.options:
            args += ["-o", ",".join(m.options)]
        proc = spawn.run([*args, m.source, target], capture=True)
        if proc.returncode != 0:
            raise TtrpcError(Code.UNKNOWN, f"mount rootfs {m.type} on {target}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")


def unmount_rootfs(target: str) -> None:
    """Unmount every layer stacked on the rootfs (lazily if busy); a no-op when nothing is there."""
    while os.path.ismount(target):
        if spawn.run(["umount", target], capture=True).returncode != 0:
            spawn.run(["umount", "-l", target], capture=True)
            break
