"""The containers' lifecycle over a fake shim (fakeshim.py): create, start, stop, kill, pause, remove, exit
codes, the state machine and OOMKilled, without root and in milliseconds."""

import asyncio
import signal

import pytest
from pyruncd.containers.types import TRANSITIONS, Config, IllegalTransition, Record, Status
from pyruncd.errors import Conflict

from tests.unit.daemon.lifecycle import rig, until


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_create_start_and_exit_record_the_exit_code(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = r.create()
        assert c.get(rec.id).status == Status.CREATED and rec.id in r.containers.records(True)[0].id
        await c.start(rec.id)
        running = c.get(rec.id)
        assert running.status == Status.RUNNING and running.pid > 0 and running.started_at
        assert rec.id in r.networks.attached
        shim = r.shims.shims[rec.id]
        assert [call[0] for call in shim.calls] == ["create", "start"]
        assert shim.task is not None and shim.task.runtime == "pyrunc" and shim.task.stderr is not None
        waiting = asyncio.ensure_future(c.wait(rec.id))
        shim.exit(3)
        assert await waiting == 3
        done = c.get(rec.id)
        assert done.status == Status.EXITED and done.exit_code == 3 and done.pid == 0 and done.finished_at
        assert shim.shut and rec.id not in r.networks.attached
        assert await c.wait(rec.id) == 3  # an exited container answers at once
        assert c.records(False) == []
        c.close()

    run(main())


def test_output_reaches_the_log_and_attach(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run()
        shim = r.shims.shims[rec.id]
        items = []

        async def attach():
            async for item in c.attach(rec.id):
                items.append(item)

        attaching = asyncio.ensure_future(attach())
        await asyncio.sleep(0.01)
        shim.write("stdout", b"hello\n")
        shim.write("stderr", b"oops\n")
        await until(lambda: len(items) == 2)
        shim.exit(0)
        await attaching
        assert [(i.stream, i.data) for i in items[:2]] == [("stdout", b"hello\n"), ("stderr", b"oops\n")]
        assert items[-1].code == 0
        logged = [(e.stream, e.data) async for e in c.logs(rec.id, follow=False, tail=-1, since="")]
        assert logged == [("stdout", b"hello\n"), ("stderr", b"oops\n")]
        c.close()

    run(main())


def test_stop_sends_the_stop_signal_then_sigkill_after_the_timeout(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run()
        await c.stop(rec.id, timeout=1)
        assert r.shims.shims[rec.id].calls[2] == ("kill", signal.SIGTERM, False, "")
        assert c.get(rec.id).exit_code == 143 and c.get(rec.id).config.run.manually_stopped
        # one that ignores SIGTERM is killed when the timeout runs out
        r.shims.ignored_signals.add(signal.SIGTERM)
        await c.start(rec.id)
        assert not c.get(rec.id).config.run.manually_stopped  # a start by hand begins again
        await c.stop(rec.id, timeout=0.05)
        kills = [call for call in r.shims.shims[rec.id].calls if call[0] == "kill"]
        assert kills == [("kill", signal.SIGTERM, False, ""), ("kill", 9, True, "")]
        assert c.get(rec.id).exit_code == 137
        await c.stop(rec.id)  # stopping a stopped container succeeds, as docker's
        c.close()

    run(main())


def test_kill_pause_and_the_state_machine(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run()
        await c.kill(rec.id, "SIGUSR1")
        assert r.shims.shims[rec.id].calls[-1] == ("kill", signal.SIGUSR1, False, "")
        assert c.get(rec.id).status == Status.RUNNING
        await c.pause(rec.id)
        assert c.get(rec.id).status == Status.PAUSED
        with pytest.raises(Conflict, match="already paused"):
            await c.pause(rec.id)
        with pytest.raises(Conflict, match="try unpause"):
            await c.start(rec.id)
        with pytest.raises(Conflict, match="Stop the container"):
            await c.remove(rec.id)
        await c.unpause(rec.id)
        with pytest.raises(Conflict, match="not paused"):
            await c.unpause(rec.id)
        await c.kill(rec.id)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        assert c.get(rec.id).exit_code == 137
        with pytest.raises(Conflict, match="is not running"):
            await c.kill(rec.id)
        with pytest.raises(Conflict, match="is not running"):
            await c.pause(rec.id)
        await c.remove(rec.id)
        with pytest.raises(Exception, match="No such container"):
            c.get(rec.id)
        c.close()

    run(main())


def test_illegal_transitions_raise_the_typed_error(tmp_path):
    rec = Record(id="c" * 64, name="n", image="i", image_id="sha256:x", created="",
                 config=Config(process=None, settings=None, chain_ids=[]))  # type: ignore[arg-type]
    for to in Status:
        if to not in TRANSITIONS[rec.status]:
            with pytest.raises(IllegalTransition, match="is created, cannot become"):
                rec.move(to)
    rec.move(Status.REMOVING)
    with pytest.raises(IllegalTransition) as e:
        rec.move(Status.RUNNING)
    assert isinstance(e.value, Conflict)  # FAILED_PRECONDITION to the API


def test_rm_force_kills_a_running_container_and_rm_of_run_rm_waits_for_it(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run()
        await c.remove(rec.id, force=True)
        assert ("kill", 9, True, "") in r.shims.shims[rec.id].calls
        assert c.records(True) == []
        # --rm: gone at its exit, the exit code told once it is
        rec = await r.run(auto_remove=True)
        waiting = asyncio.ensure_future(c.wait(rec.id))
        r.shims.shims[rec.id].exit(7)
        assert await waiting == 7
        assert c.records(True) == []
        c.close()

    run(main())


def test_oom_event_sets_oomkilled_at_the_exit_and_a_start_clears_it(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = await r.run()
        r.shims.shims[rec.id].exit(137, oom=True)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        assert c.get(rec.id).config.run.oom_killed
        assert c.inspect(c.get(rec.id))["State"]["OOMKilled"] is True
        await c.start(rec.id)
        assert not c.get(rec.id).config.run.oom_killed
        r.shims.shims[rec.id].exit(1)
        await until(lambda: c.get(rec.id).status == Status.EXITED)
        assert not c.get(rec.id).config.run.oom_killed  # only an OOM of this run counts
        c.close()

    run(main())


def test_a_failed_start_keeps_the_container_created_with_the_error(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        rec = r.create()
        r.shims.fail_start.add(rec.id)
        with pytest.raises(Exception, match="refused by the test"):
            await c.start(rec.id)
        assert c.get(rec.id).status == Status.CREATED
        r.shims.fail_start.clear()
        await c.start(rec.id)
        assert c.get(rec.id).status == Status.RUNNING and c.get(rec.id).error == ""
        c.close()

    run(main())


def test_events_tell_the_lifecycle(tmp_path):
    async def main():
        r = await rig(tmp_path)
        c = r.containers
        seen = []

        async def watch():
            async for e in c.events():
                seen.append(e.action)

        watching = asyncio.ensure_future(watch())
        await asyncio.sleep(0)
        rec = await r.run()
        await c.stop(rec.id)
        await c.remove(rec.id)
        await until(lambda: "destroy" in seen)
        watching.cancel()
        assert seen == ["create", "start", "die", "stop", "destroy"]
        c.close()

    run(main())
