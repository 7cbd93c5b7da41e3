"""Restart and health policies over a fake shim (fakeshim.py): restarts as each --restart says, with their
back-off, and health status moved by the probes' (fake execs') results; no root, in milliseconds."""

import asyncio
from collections import deque

from pyruncd.containers.types import Status

from tests.unit.daemon.lifecycle import rig, until


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def starts(r, cid):
    return [t for c, t in r.shims.started if c == cid]


def test_on_failure_restarts_up_to_its_count_and_not_after_a_success(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run(restart="on-failure:2")
        for n in (1, 2):
            r.shims.shims[rec.id].exit(1)
            await until(lambda n=n: len(starts(r, rec.id)) == n + 1 and c.get(rec.id).status == Status.RUNNING)
            assert c.get(rec.id).config.run.restart_count == n
        r.shims.shims[rec.id].exit(1)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        await asyncio.sleep(0.05)
        assert len(starts(r, rec.id)) == 3 and c.get(rec.id).status == Status.EXITED
        assert c.inspect(c.get(rec.id))["RestartCount"] == 2
        # a success is not a failure
        other = await r.run(restart="on-failure")
        r.shims.shims[other.id].exit(0)
        await until(lambda: c.get(other.id).status == Status.EXITED)
        await asyncio.sleep(0.05)
        assert len(starts(r, other.id)) == 1
        c.close()

    run(main())


def test_always_restarts_after_any_exit_but_not_after_a_stop(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run(restart="always")
        r.shims.shims[rec.id].exit(0)
        await until(lambda: len(starts(r, rec.id)) == 2 and c.get(rec.id).status == Status.RUNNING)
        await c.stop(rec.id)
        await asyncio.sleep(0.05)
        assert c.get(rec.id).status == Status.EXITED and len(starts(r, rec.id)) == 2
        c.close()

    run(main())


def test_unless_stopped_is_held_back_by_a_stop_by_hand_and_no_does_nothing(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run(restart="unless-stopped")
        r.shims.shims[rec.id].exit(2)
        await until(lambda: len(starts(r, rec.id)) == 2 and c.get(rec.id).status == Status.RUNNING)
        await c.stop(rec.id)
        assert c.get(rec.id).config.run.manually_stopped
        await asyncio.sleep(0.05)
        assert c.get(rec.id).status == Status.EXITED and len(starts(r, rec.id)) == 2
        plain = await r.run()
        r.shims.shims[plain.id].exit(1)
        await until(lambda: c.get(plain.id).status == Status.EXITED)
        await asyncio.sleep(0.05)
        assert len(starts(r, plain.id)) == 1
        c.close()

    run(main())


def test_restarts_back_off_doubling_and_show_as_restarting(tmp_path):
    async def main():
        r = await rig(tmp_path, restart_backoff=0.02)
        c = r.containers
        rec = await r.run(restart="always")
        for n in range(1, 4):
            r.shims.shims[rec.id].exit(1)
            await until(lambda: c.get(rec.id).status == Status.EXITED)
            assert c.inspect(c.get(rec.id))["State"]["Restarting"]  # waiting out its back-off
            assert [x.id for x in c.records(False)] == [rec.id]
            await until(lambda n=n: len(starts(r, rec.id)) == n + 1 and c.get(rec.id).status == Status.RUNNING)
        times = starts(r, rec.id)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps[0] >= 0.02 * 0.9 and gaps[1] >= 0.04 * 0.9 and gaps[2] >= 0.08 * 0.9
        # a pending restart is called off by rm -f; the container is gone for good
        r.shims.shims[rec.id].exit(1)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        await c.remove(rec.id, force=True)
        await asyncio.sleep(0.3)
        assert c.records(True) == [] and len(starts(r, rec.id)) == 4
        c.close()

    run(main())


def test_health_moves_from_starting_to_healthy_to_unhealthy_with_the_probes_results(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        seen = []

        async def watch():
            async for e in c.events():
                if e.action.startswith("health_status"):
                    seen.append(e.action)

        watching = asyncio.ensure_future(watch())
        rec = r.create(health_cmd="check", health_interval="5ms", health_retries="2")
        r.shims.exec_results[rec.id] = deque([(0, b"fine\n"), (1, b"bad\n"), (1, b"worse\n"), (0, b"")])
        await c.start(rec.id)
        assert c.inspect(c.get(rec.id))["State"]["Health"]["Status"] == "starting"
        await until(lambda: len(seen) == 3)
        assert seen == ["health_status: healthy", "health_status: unhealthy", "health_status: healthy"]
        health = c.inspect(c.get(rec.id))["State"]["Health"]
        assert [e["ExitCode"] for e in health["Log"]][:4] == [0, 1, 1, 0]
        assert health["Log"][0]["Output"] == "fine\n"
        execs = [call for call in r.shims.shims[rec.id].calls if call[0] == "exec"]
        assert execs[0] == ("exec", ["/bin/sh", "-c", "check"])
        # every probe's exec is deleted from the shim once it ended
        await until(lambda: not r.shims.shims[rec.id].execs)
        r.shims.shims[rec.id].exit(0)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        probes = len([call for call in r.shims.shims[rec.id].calls if call[0] == "exec"])
        await asyncio.sleep(0.03)
        assert len([call for call in r.shims.shims[rec.id].calls if call[0] == "exec"]) == probes  # no more
        watching.cancel()
        c.close()

    run(main())


def test_a_probe_that_overruns_its_timeout_is_killed_and_fails(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = r.create(health_cmd="hang", health_interval="5ms", health_timeout="20ms", health_retries="1")
        r.shims.exec_results[rec.id] = deque([None])  # runs until killed
        await c.start(rec.id)
        await until(lambda: c.inspect(c.get(rec.id))["State"]["Health"]["Status"] == "unhealthy")
        log = c.inspect(c.get(rec.id))["State"]["Health"]["Log"]
        assert log[0]["Output"] == "Health check exceeded timeout (0.02s)"
        assert any(call[0] == "kill" and call[1] == 9 and call[3] for call in r.shims.shims[rec.id].calls)
        await c.remove(rec.id, force=True)
        c.close()

    run(main())
