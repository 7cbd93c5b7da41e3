"""TaskOOM: the shim tells of the kernel's OOM kill in the task's memory cgroup, before the task's exit,
so a listener (pyruncd's OOMKilled, dockerd's through containerd) has it when the exit comes.

This host's memory controller is on cgroup v1; a v2 OOM (memory.events) needs the controller on
the unified hierarchy, which is not delegated here: its watch is covered in tests/unit/shim/test_oom_watch.py.
"""

import json
import os

import pytest
from pyrunc_proto.containerd.events import task_pb2 as events

from tests.integration.shim.shimkit import Task, make_bundle

MEMORY_V1 = "/sys/fs/cgroup/memory"


def test_an_oom_kill_is_published_before_the_exit(env):
    tmp_path, token, ctrd = env
    if not os.path.isdir(MEMORY_V1):
        pytest.skip("no cgroup v1 memory controller; a v2 OOM cannot be produced on this host")
    bundle = make_bundle(tmp_path, token, ["sh", "-c", "tail /dev/zero"])
    spec = json.loads((bundle / "config.json").read_text())
    memory = {"limit": 16 << 20}
    if os.path.exists(f"{MEMORY_V1}/memory.memsw.limit_in_bytes"):
        memory["swap"] = 16 << 20  # no swapping out of the OOM
    spec["linux"].setdefault("resources", {})["memory"] = memory
    (bundle / "config.json").write_text(json.dumps(spec))
    task = Task(bundle, token, ctrd)
    try:
        task.create()
        task.call("Start")
        assert task.call("Wait").exit_status == 137
        task.call("Delete")
    finally:
        task.close()
    ctrd.wait_topic("/tasks/delete")
    topics = ctrd.topics()
    assert "/tasks/oom" in topics and topics.index("/tasks/oom") < topics.index("/tasks/exit"), topics
    ns, _, url, value = ctrd.events[topics.index("/tasks/oom")]
    assert (ns, url) == (token, "containerd.events.TaskOOM")
    assert events.TaskOOM.FromString(value).container_id == token
