"""An in-memory shimapi.ShimFactory for the lifecycle unit tests: no process, no root, no kernel.

Each started shim records the calls made of it; a task exits when the test says (`exit`), when a
stopping signal reaches it, or when a SIGKILL does. Like the real shim it holds a writer on the
container's output FIFOs while the task lives (so `write` shows up in logs and attach), and tells
of an OOM (through `on_oom`, as the real one sends /tasks/oom) before the exit that follows.
Execs answer with the next of `exec_results[container id]`: (exit code, output), or run until killed
when that is None.
"""

import asyncio
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyruncd.containers.shimapi import ExecSpec, Exit, ShimError, TaskSpec

STOPPING = {2, 3, 9, 15}  # what a plain `sleep` dies of


def _open_writer(path: Path | None) -> int:
    return os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC) if path else -1


@dataclass
class FakeProcess:
    fds: list[int] = field(default_factory=list)
    exited: "asyncio.Future[Exit]" = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    result: tuple[int, bytes] | None = None

    def end(self, status: int) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
        if not self.exited.done():
            self.exited.set_result(Exit(status=status, exited_at=time.time()))


class FakeShim:
    def __init__(self, factory: "FakeShims", container_id: str, address: str) -> None:
        self._factory = factory
        self._id = container_id
        self._address = address
        self.calls: list[tuple[Any, ...]] = []
        self.task: TaskSpec | None = None
        self.init = FakeProcess()
        self.execs: dict[str, FakeProcess] = {}
        self.shut = False

    @property
    def id(self) -> str:
        return self._id

    @property
    def address(self) -> str:
        return self._address

    def _process(self, exec_id: str) -> FakeProcess:
        if self.shut:
            raise ShimError(f"container {self._id[:12]}: the shim is gone")
        if not exec_id:
            return self.init
        if exec_id not in self.execs:
            raise ShimError(f"process {exec_id} does not exist")
        return self.execs[exec_id]

    # ---- the test's side

    def write(self, stream: str, data: bytes) -> None:
        os.write(self.init.fds[0 if stream == "stdout" else 1], data)

    def exit(self, status: int, oom: bool = False) -> None:
        if oom:
            self._factory.on_oom(self._id)
        self.init.end(status)

    # ---- shimapi.ShimClient

    async def alive(self, timeout: float) -> bool:
        return not self.shut

    async def create(self, task: TaskSpec) -> int:
        self.calls.append(("create",))
        self.task = task
        self.init.fds = [_open_writer(task.stdout), *([_open_writer(task.stderr)] if task.stderr else [])]
        return self._factory.next_pid()

    async def start(self, exec_id: str = "") -> int:
        self.calls.append(("start", exec_id))
        p = self._process(exec_id)
        if p.result is not None:
            code, output = p.result
            if output:
                os.write(p.fds[0], output)
            p.end(code)
        return self._factory.next_pid()

    async def wait(self, exec_id: str = "") -> Exit:
        return await asyncio.shield(self._process(exec_id).exited)

    async def kill(self, signal: int, all: bool = False, exec_id: str = "") -> None:
        self.calls.append(("kill", signal, all, exec_id))
        p = self._process(exec_id)
        if p.exited.done():
            raise ShimError("process already finished: not found")
        if signal == 9 or (signal in STOPPING and signal not in self._factory.ignored_signals):
            p.end(128 + signal)

    async def exec(self, spec: ExecSpec) -> None:
        self.calls.append(("exec", spec.process["args"]))
        p = FakeProcess(fds=[_open_writer(spec.stdout), *([_open_writer(spec.stderr)] if spec.stderr else [])])
        results = self._factory.exec_results.get(self._id)
        p.result = results.popleft() if results else (0, b"")
        self.execs[spec.exec_id] = p

    async def resize(self, width: int, height: int, exec_id: str = "") -> None:
        self.calls.append(("resize", width, height, exec_id))

    async def close_io(self, exec_id: str = "") -> None:
        self.calls.append(("close_io", exec_id))

    async def delete(self, exec_id: str = "") -> None:
        self.calls.append(("delete", exec_id))
        if exec_id:
            self.execs.pop(exec_id, None)

    async def pids(self) -> list[int]:
        return [1]

    async def pause(self) -> None:
        self.calls.append(("pause",))

    async def resume(self) -> None:
        self.calls.append(("resume",))

    async def update(self, resources: dict[str, Any]) -> None:
        self.calls.append(("update", resources))

    async def stats(self) -> bytes:
        return b""

    async def close(self, bundle: Path) -> None:
        self.calls.append(("close",))
        self.shut = True

    async def shutdown(self) -> None:
        self.calls.append(("shutdown",))
        self.shut = True


class FakeShims:
    """shimapi.ShimFactory: `shims[container id]` is the latest shim started for it, `started` every start."""

    runtimes = frozenset({"pyrunc", "runc"})

    def __init__(self) -> None:
        self.shims: dict[str, FakeShim] = {}
        self.started: list[tuple[str, float]] = []   # (container id, loop time)
        self.exec_results: dict[str, deque[tuple[int, bytes] | None]] = {}
        self.ignored_signals: set[int] = set()
        self.on_oom: Callable[[str], None] = lambda cid: None
        self.fail_start: set[str] = set()
        self._pid = 1000

    def next_pid(self) -> int:
        self._pid += 1
        return self._pid

    async def start(self, bundle: Path, container_id: str) -> FakeShim:
        if container_id in self.fail_start:
            raise ShimError(f"shim start for {container_id[:12]}: refused by the test")
        shim = self.shims[container_id] = FakeShim(self, container_id, f"unix:///fake/{container_id}")
        self.started.append((container_id, asyncio.get_running_loop().time()))
        return shim

    def connect(self, container_id: str, address: str) -> FakeShim:
        return self.shims.get(container_id) or FakeShim(self, container_id, address)

    async def delete_dead(self, bundle: Path, container_id: str) -> Exit | None:
        return None

    async def running(self, container_ids: set[str]) -> dict[str, list[int]]:
        return {}

    async def discard(self, bundle: Path, container_id: str, pids: list[int]) -> None:
        pass
