"""pause / resume through the CLI: "paused" in state, no progress while frozen, runc's errors."""

import json
import time

import pytest


def cpu_total(rt, cid):
    out = rt("events", "--stats", cid).stdout
    return json.loads(out)["data"]["cpu"]["usage"]["total"]


@pytest.fixture
def busy(rt, bundle):
    """A running container spinning a CPU; deleted at the end."""
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sh", "-c", "while :; do :; done"]), cid)
    yield cid
    rt("delete", "--force", cid, check=False)


def test_pause_freezes_and_resume_continues(rt, busy):
    time.sleep(0.2)
    rt("pause", busy)
    assert rt.state(busy)["status"] == "paused"
    before = cpu_total(rt, busy)
    time.sleep(0.5)
    assert cpu_total(rt, busy) == before  # frozen: not one more nanosecond of CPU
    rt("resume", busy)
    assert rt.state(busy)["status"] == "running"
    time.sleep(0.3)
    assert cpu_total(rt, busy) > before


def test_pause_twice_and_resume_running_are_refused(rt, busy):
    p = rt("resume", busy, check=False)
    assert p.returncode != 0 and "container not paused" in p.stderr
    rt("pause", busy)
    p = rt("pause", busy, check=False)
    assert p.returncode != 0 and "not running" in p.stderr
    assert rt.state(busy)["status"] == "paused"


def test_paused_container_can_be_force_deleted(rt, busy):
    rt("pause", busy)
    rt("delete", "--force", busy)
    assert busy not in rt.ids()


def test_pause_created_container_and_resume(rt, bundle):
    cid = rt.new_id()
    rt("create", "--bundle", bundle(["sleep", "100"]), cid)
    rt("pause", cid)
    assert rt.state(cid)["status"] == "paused"
    rt("resume", cid)
    assert rt.state(cid)["status"] == "created"
    rt("delete", "--force", cid)


def test_pause_stopped_or_missing_container(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["true"]), cid)
    rt.wait_status(cid, "stopped")
    p = rt("pause", cid, check=False)
    assert p.returncode != 0 and "not running" in p.stderr
    rt("delete", cid)
    p = rt("pause", cid, check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
