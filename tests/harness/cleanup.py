"""Clean-up after engines a test started: process trees, mounts and cgroups under a temp dir or token.

The engine harnesses (dockerd, podman, containerd) each leave the same kinds of things behind
when a test fails midway; this is the one place that removes them.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def descendants(pid: int) -> set[int]:
    """Every process below pid, from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def pids_naming(needle: str) -> list[int]:
    """Processes whose command line names needle or whose working dir is under it."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if needle in cmd or cwd.startswith(needle):
            found.append(int(entry))
    return found


def stop_process(proc, timeout: float) -> None:
    """SIGTERM a daemon we started and wait; SIGKILL it if it takes longer than timeout."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def kill_trees(roots, still_there, timeout: float = 5) -> None:
    """SIGKILL roots and everything below them, then wait until still_there() is empty."""
    victims = set(roots)
    for pid in roots:
        victims |= descendants(pid)
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while still_there() and time.monotonic() < deadline:
        time.sleep(0.05)


def unmount_under(directory) -> None:
    """Lazily unmount every mount below directory, deepest first (a few passes for stacked mounts)."""
    prefix = str(directory) + "/"
    for _ in range(3):
        with open("/proc/self/mountinfo") as f:
            targets = [line.split()[4] for line in f if line.split()[4].startswith(prefix)]
        if not targets:
            return
        for target in sorted(targets, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def remove_cgroups(name: str) -> None:
    """rmdir the cgroup tree `name` at the top of every hierarchy, deepest first."""
    for ctrl in CGROUP_ROOT.iterdir():
        top = ctrl / name
        if top.is_dir():
            for sub in sorted(top.glob("**/"), key=lambda p: len(str(p)), reverse=True):
                try:
                    sub.rmdir()
                except OSError:
                    pass
