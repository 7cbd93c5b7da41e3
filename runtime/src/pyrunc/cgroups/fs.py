"""Reading and writing cgroup files, shared by v1.py and v2.py."""

import errno
import os
import time

from ..errors import PyruncError


def write(directory, name, value, field):
    """Write one value; the error names the config field it came from and the file, as runc's does."""
    path = os.path.join(directory, name)
    data = str(value)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise PyruncError(f'{field}: failed to write "{data}": write {path}: '
                          f"{os.strerror(e.errno).lower() if e.errno else e}") from None


def read(directory, name):
    with open(os.path.join(directory, name)) as f:
        return f.read().strip()


def read_int(directory, name, default=0):
    """A single-number file; "max" reads as default (runc reports unlimited v2 values so)."""
    try:
        text = read(directory, name)
    except OSError:
        return default
    if text == "max":
        return default
    try:
        return int(text)
    except ValueError:
        return default


def read_keyed(directory, name):
    """A "key value" per line file (memory.stat, cpu.stat, memory.events ...) as {key: int}."""
    out: dict[str, int] = {}
    try:
        text = read(directory, name)
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        try:
            out[key] = int(value)
        except ValueError:
            continue
    return out


def procs_recursive(directory):
    """Every pid in directory and below (cgroup.procs of each)."""
    pids: list[int] = []
    for top, _dirs, files in os.walk(directory):
        if "cgroup.procs" not in files:
            continue
        try:
            with open(os.path.join(top, "cgroup.procs")) as f:
                pids.extend(int(x) for x in f.read().split())
        except FileNotFoundError:
            continue  # removed while we walked
    return sorted(set(pids))


def remove_tree(directory, timeout=2.0):
    """rmdir a cgroup and its children, deepest first; EBUSY (tasks still exiting) is retried."""
    if not os.path.isdir(directory):
        return
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        subdirs = [top for top, _d, _f in os.walk(directory)]
        busy = None
        for d in sorted(subdirs, key=len, reverse=True):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise PyruncError(f"failed to remove cgroup {d}: {e.strerror}") from None
                busy = d
        if busy is None:
            return
        if time.monotonic() > deadline:
            raise PyruncError(f"failed to remove cgroup {busy}: device or resource busy "
                              "(processes are still in it)")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def parse_cpu_list(text):
    """ "0-2,4" -> [0, 1, 2, 4] (cpuset files)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def hugepage_sizes():
    """The page size names runc uses ("2MB", "1GB") for this host's huge page sizes."""
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except FileNotFoundError:
        return []
    sizes = []
    for n in names:
        kb = int(n[len("hugepages-"):-len("kB")])
        sizes.append(page_size_name(kb * 1024))
    return sorted(sizes)


def hugetlb_file_missing(directory, page_size, field):
    """The error for a hugetlb limit file that is not there: controller off, or no such page size."""
    from ..errors import PyruncError

    if not any(n.startswith("hugetlb.") for n in os.listdir(directory)):
        return PyruncError(f"{field}: the hugetlb controller is not enabled for {directory}")
    return PyruncError(f"{field}.pageSize: huge page size {page_size!r} is not supported "
                       f"(this host has {', '.join(hugepage_sizes()) or 'none'})")


def page_size_name(size):
    units = ["B", "KB", "MB", "GB", "TB", "PB"]
    i = 0
    value = float(size)
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return f"{value:g}{units[i]}"
