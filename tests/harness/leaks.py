"""What a test must not leave behind, scoped to one test's token and temp dir.

Other tests (and other people's tests) run on this machine at the same time, so
we never diff the whole host: a leak is a mount, cgroup dir or process that
names this test's unique token or temp dir.
"""

import os
import time

CGROUP_ROOT = "/sys/fs/cgroup"


def mounts_naming(*needles):
    with open("/proc/self/mountinfo") as f:
        return [line.strip() for line in f if any(n in line for n in needles)]


def cgroup_dirs_naming(token, depth=6):
    found = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        if top.count("/") - CGROUP_ROOT.count("/") >= depth:
            dirs[:] = []
            continue
        for d in dirs:
            if token in d:
                found.append(os.path.join(top, d))
    return found


def processes_naming(*needles):
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{pid}/cgroup") as f:
                cg = f.read()
            with open(f"/proc/{pid}/stat", "rb") as f:
                zombie = f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except OSError:
            continue
        if zombie:  # exited; only waiting for its parent (often the host's init) to reap it
            continue
        if any(n in cmd or n in cg for n in needles):
            found.append(f"{pid}: {cmd.strip()}")
    return found


def leaks(token, tmpdir, settle=5.0):
    """Everything left that names token or tmpdir, as readable lines (empty if clean). A shim answers
    Shutdown before it exits, so a process gets `settle` seconds to be gone (it takes longer on a loaded
    machine); mounts and cgroups are looked at after that."""
    deadline = time.monotonic() + settle
    procs = processes_naming(token, str(tmpdir))
    while procs and time.monotonic() < deadline:
        time.sleep(0.05)
        procs = processes_naming(token, str(tmpdir))
    out = [f"mount: {m}" for m in mounts_naming(token, str(tmpdir))]
    out += [f"cgroup: {d}" for d in cgroup_dirs_naming(token)]
    out += [f"process: {p}" for p in procs]
    return out
