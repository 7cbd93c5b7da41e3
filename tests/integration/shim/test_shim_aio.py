"""pyrunc_ttrpc's asyncio client against a real shim: Waits of several processes pending on one
connection, answered as each exits (the daemon's event-driven Wait), other calls going beside them."""

import asyncio
import os

import pytest
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api
from pyrunc_ttrpc import aio
from pyrunc_ttrpc.status import Code, TtrpcError

from tests.integration.shim.shimkit import ROOTFS, RUNC, RUNNING, STOPPED, TASK, Task, make_bundle

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed"),
    pytest.mark.skipif(not (ROOTFS / "bin" / "busybox").exists(), reason="run `make fixtures`"),
]


def test_waits_on_one_connection_end_as_their_processes_exit(env):
    tmp_path, token, ctrd = env
    task = Task(make_bundle(tmp_path, token, ["sleep", "1000"]), token, ctrd)
    try:
        task.create()
        task.call("Start")
        task.exec("e1", ["sh", "-c", "sleep 0.3; exit 7"])
        task.call("Start", exec_id="e1")

        async def main() -> list[tuple[str, int]]:
            async with await aio.connect(task.address) as client:
                async def call(method: str, req, resp_cls):
                    return resp_cls.FromString(await client.call(TASK, method, req.SerializeToString(), timeout=20))

                ended: list[tuple[str, int]] = []

                async def wait(exec_id: str) -> None:
                    resp = await call("Wait", api.WaitRequest(id=token, exec_id=exec_id), api.WaitResponse)
                    ended.append((exec_id or "init", resp.exit_status))

                waits = [asyncio.create_task(wait("")), asyncio.create_task(wait("e1"))]
                state = await call("State", api.StateRequest(id=token), api.StateResponse)
                assert state.status == RUNNING  # answered while both Waits are pending
                await asyncio.wait_for(waits[1], 10)  # the exec, asked second, ends first
                assert not waits[0].done()
                with pytest.raises(TtrpcError) as e:
                    await client.call(TASK, "Kill", api.KillRequest(id=token, exec_id="nope").SerializeToString())
                assert e.value.code == Code.NOT_FOUND
                await client.call(TASK, "Kill", api.KillRequest(id=token, signal=9).SerializeToString())
                await asyncio.wait_for(asyncio.gather(*waits), 10)
                assert (await call("State", api.StateRequest(id=token), api.StateResponse)).status == STOPPED
                return ended

        assert asyncio.run(main()) == [("e1", 7), ("init", 137)]
    finally:
        task.close()
