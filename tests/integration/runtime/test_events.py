"""`events` through the CLI: runc's JSON shapes, --interval until the container goes, OOM events."""

import json
import subprocess
import time

RUNC_STATS_KEYS = {"cpu", "memory", "pids", "blkio", "hugetlb"}


def test_stats_once_in_runc_shape(rt, bundle):
    cid = rt.new_id()
    b = bundle(["sleep", "100"], edit=lambda c: c["linux"]["resources"].update(
        memory={"limit": 64 << 20}, pids={"limit": 50}))
    rt("run", "-d", "--bundle", b, cid)
    out = rt("events", "--stats", cid).stdout
    assert out.count("\n") == 1
    ev = json.loads(out)
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    assert RUNC_STATS_KEYS <= set(data)
    assert set(data["cpu"]) == {"usage", "throttling"}
    assert data["cpu"]["usage"]["total"] > 0 and {"kernel", "user"} <= set(data["cpu"]["usage"])
    assert data["memory"]["usage"]["limit"] == 64 << 20 and data["memory"]["usage"]["usage"] > 0
    assert {"usage", "swap", "kernel", "raw"} <= set(data["memory"])
    assert data["pids"] == {"current": 1, "limit": 50}
    rt("delete", "--force", cid)


def test_events_errors(rt, bundle):
    p = rt("events", "--stats", "nosuch", check=False)
    assert p.returncode != 0 and "does not exist" in p.stderr
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"]), cid)
    p = rt("events", "--interval", "0s", cid, check=False)
    assert p.returncode != 0 and "duration interval must be greater than 0" in p.stderr
    p = rt("events", "--interval", "x", cid, check=False)
    assert p.returncode != 0 and 'invalid value "x" for flag -interval' in p.stderr.replace('\\"', '"')
    rt("delete", "--force", cid)


def _reader(rt, cid, interval):
    return subprocess.Popen(rt.cmd("events", "--interval", interval, cid), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)


def _lines(proc, want, timeout):
    """Read JSON lines until want(event) or timeout; returns all events read."""
    import selectors

    seen = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not sel.select(max(0.0, deadline - time.monotonic())):
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(json.loads(line))
        if want(seen[-1]):
            break
    return seen


def test_interval_stats_until_the_container_goes(rt, bundle):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "100"]), cid)
    proc = _reader(rt, cid, "200ms")
    try:
        count = iter(range(1, 100))
        seen = _lines(proc, lambda e: e["type"] == "stats" and next(count) >= 3, 5)
        stats = [e for e in seen if e["type"] == "stats"]
        assert len(stats) >= 3 and all(e["id"] == cid for e in stats)
        rt("delete", "--force", cid)
        assert proc.wait(timeout=5) == 0  # ends by itself once the container is gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_oom_kill_is_reported(rt, bundle):
    hog = "sleep 1; dd if=/dev/zero of=/dev/null bs=100M count=1; exec sleep 100"
    b = bundle(["sh", "-c", hog], edit=lambda c: c["linux"]["resources"].update(
        memory={"limit": 32 << 20, "swap": 32 << 20}))
    cid = rt.new_id()
    rt("run", "-d", "--bundle", b, cid)
    proc = _reader(rt, cid, "10s")
    try:
        seen = _lines(proc, lambda e: e["type"] == "oom", 15)
        assert {"type": "oom", "id": cid} in seen
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    rt("delete", "--force", cid)


def test_stats_of_created_and_paused_containers(rt, bundle):
    cid = rt.new_id()
    rt("create", "--bundle", bundle(["sleep", "100"]), cid)
    try:
        ev = json.loads(rt("events", "--stats", cid).stdout)
        assert ev["data"]["pids"]["current"] >= 1  # runc's waiting init is several Go threads
        rt("start", cid)
        rt("pause", cid)
        ev = json.loads(rt("events", "--stats", cid).stdout)
        assert ev["type"] == "stats" and ev["data"]["pids"]["current"] == 1
    finally:
        rt("delete", "--force", cid)
