"""Exits come from the shims' /tasks/exit events (events.py -> exits.py), not from a thread blocked in each
process's Wait; a shim that dies fails its waits. No root: the "shim" here is a child process."""

import asyncio
import subprocess

import pytest
from pyrunc_proto import wire
from pyrunc_shim.events import SERVICE, envelope
from pyruncd.containers import events
from pyruncd.containers.exits import ExitWatch
from pyruncd.containers.shimapi import Exit, ShimUnreachable

CID = "c" * 64


def forward(event_type: str, **fields) -> bytes:
    return wire.encode("ttrpc.Request", service=SERVICE, method="Forward",
                       payload=envelope("pyruncd", wire.pack(event_type, **fields)))


def test_a_task_exit_names_the_process_the_init_by_no_exec_id():
    seen = []
    events.handle(forward("containerd.events.TaskExit", container_id=CID, id=CID, pid=7, exit_status=137,
                          exited_at=wire.timestamp(1_500_000_000_000_000_000)), lambda cid: None,
                  lambda *e: seen.append(e))
    events.handle(forward("containerd.events.TaskExit", container_id=CID, id="e1", pid=8, exit_status=2),
                  lambda cid: None, lambda *e: seen.append(e))
    events.handle(forward("containerd.events.TaskOOM", container_id=CID), lambda cid: None,
                  lambda *e: seen.append(e))
    assert seen == [(CID, "", Exit(status=137, exited_at=1_500_000_000.0)), (CID, "e1", Exit(status=2, exited_at=0))]


def test_waits_answer_at_the_exit_and_fail_when_the_shim_dies():
    async def main():
        shim = subprocess.Popen(["sleep", "30"])
        watch = ExitWatch()
        try:
            init = watch.expect(CID, "", shim.pid)
            other = watch.expect(CID, "e1", shim.pid)
            watch.exited(CID, "", Exit(status=3, exited_at=1.0))
            assert (await init).status == 3 and not other.done()
            cancelled = watch.expect(CID, "e2", shim.pid)
            cancelled.cancel()
            shim.kill()
            with pytest.raises(ShimUnreachable, match="its shim exited"):
                await asyncio.wait_for(other, 5)
            with pytest.raises(ShimUnreachable, match="its shim is gone"):
                shim.wait()
                watch.expect(CID, "e3", shim.pid)
        finally:
            shim.kill()
            shim.wait()
            watch.close()

    asyncio.run(main())
