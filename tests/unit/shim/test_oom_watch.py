"""The shim's OOM watches: which cgroup version it picks, and the v2 memory.events counter.

A real cgroup v2 OOM needs the memory controller on the unified hierarchy, which this (v1 hybrid)
host does not delegate there: the v2 watch is exercised on a memory.events file of our own, through
real inotify, with the kernel's format.
"""

import os

import pytest
from pyrunc_shim import oom

EVENTS = "low 0\nhigh 0\nmax {max}\noom {oom}\noom_kill {kill}\noom_group_kill 0\n"


def write_events(path, kill: int) -> None:
    with open(path, "w") as f:  # truncate and write, as a kernfs change is seen by inotify
        f.write(EVENTS.format(max=kill * 3, oom=kill, kill=kill))


def test_oom_kill_count_is_parsed_from_memory_events():
    assert oom.oom_kills(EVENTS.format(max=9, oom=3, kill=2)) == 2
    assert oom.oom_kills("low 0\nhigh 0\n") == 0
    assert oom.oom_kills("oom_kill x\n") == 0


def test_v2_watch_reports_a_rise_of_oom_kill_and_stops_when_the_cgroup_goes(tmp_path):
    events = tmp_path / "memory.events"
    write_events(events, 0)
    w = oom.OOMWatchV2(str(tmp_path))
    try:
        assert w.read() == (False, True)  # nothing pending
        write_events(events, 1)
        assert w.read() == (True, True)
        assert w.read() == (False, True)  # consumed
        write_events(events, 1)  # another counter of the file changed
        assert w.read() == (False, True)
        write_events(events, 3)
        assert w.read() == (True, True)
        events.unlink()
        assert w.read() == (False, False)
    finally:
        w.close()


def test_v2_watch_wakes_its_descriptor(tmp_path):
    import select

    events = tmp_path / "memory.events"
    write_events(events, 0)
    w = oom.OOMWatchV2(str(tmp_path))
    try:
        assert select.select([w.fd], [], [], 0)[0] == []
        write_events(events, 1)
        assert select.select([w.fd], [], [], 1)[0] == [w.fd]
    finally:
        w.close()


def test_memory_cgroup_of_this_process_is_found_on_either_version():
    version, path = oom.memory_cgroup(os.getpid())
    if os.path.isdir(oom.MEMORY_V1):
        assert version == 1 and os.path.exists(os.path.join(path, "memory.oom_control"))
    elif version == 0:
        pytest.skip("no memory controller for this process's cgroup on either hierarchy")
    else:
        assert version == 2 and os.path.exists(os.path.join(path, "memory.events"))


def test_no_watch_for_a_process_that_is_gone():
    assert oom.memory_cgroup(2**22 + 1) == (0, "")
    assert oom.OOMWatch.for_pid(2**22 + 1) is None
