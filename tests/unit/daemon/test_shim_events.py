"""OOMKilled comes from the shim's TaskOOM event (as dockerd's from containerd's /tasks/oom), not from
cgroup v1 files the daemon reads itself: on a v2 host those do not exist and the flag stayed false."""

import asyncio
import threading
from pathlib import Path

import pyruncd
from pyrunc_proto import wire
from pyrunc_shim.events import SERVICE, Publisher, envelope
from pyruncd.containers import events


def forward(event_type: str, **fields) -> bytes:
    return wire.encode("ttrpc.Request", service=SERVICE, method="Forward",
                       payload=envelope("pyruncd", wire.pack(event_type, **fields)))


def test_a_task_oom_names_its_container_and_other_events_are_ignored():
    seen = []
    resp = wire.decode("ttrpc.Response", events.handle(forward("containerd.events.TaskOOM", container_id="c1"),
                                                       seen.append))
    assert resp.payload == b"" and resp.status is None
    events.handle(forward("containerd.events.TaskExit", container_id="c2", id="c2", pid=7, exit_status=137),
                  seen.append)
    events.handle(forward("containerd.events.TaskStart", container_id="c3", pid=7), seen.append)
    assert seen == ["c1"]


def test_other_methods_are_unimplemented_and_a_bad_event_is_dropped():
    seen = []
    resp = wire.decode("ttrpc.Response", events.handle(
        wire.encode("ttrpc.Request", service=SERVICE, method="Publish", payload=b""), seen.append))
    assert resp.status.code == 12
    bad = wire.encode("ttrpc.Request", service=SERVICE, method="Forward", payload=b"\xff\xff")
    assert wire.decode("ttrpc.Response", events.handle(bad, seen.append)).payload == b""
    assert seen == []


def test_the_shims_publisher_reaches_the_sink_over_its_socket(tmp_path):
    """The shim's own Publisher, as started with TTRPC_ADDRESS set to the sink: the OOM is recorded
    before Forward returns, so before the shim goes on to the exit."""

    async def main() -> list[str]:
        seen: list[str] = []
        sink = events.EventSink(tmp_path / "ev.sock", seen.append)
        await sink.start()
        try:
            def shim() -> None:
                p = Publisher(str(sink.path), "pyruncd")
                p.publish(wire.pack("containerd.events.TaskOOM", container_id="abc"))
                recorded.append(list(seen))
                p.publish(wire.pack("containerd.events.TaskExit", container_id="abc", id="abc", pid=1, exit_status=137))
                p.close()

            recorded: list[list[str]] = []
            t = threading.Thread(target=shim)
            t.start()
            await asyncio.get_running_loop().run_in_executor(None, t.join)
            assert recorded == [["abc"]]
            return seen
        finally:
            sink.close()

    assert asyncio.run(main()) == ["abc"]
    assert not (tmp_path / "ev.sock").exists()


def test_the_daemon_reads_no_cgroup_oom_files():
    root = Path(pyruncd.__file__).parent
    readers = [p for p in root.rglob("*.py") if "\"memory.oom_control\"" in p.read_text()]
    assert readers == []
