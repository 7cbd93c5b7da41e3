"""What the containers' operations need from a shim, as protocols: the real one (shim.py, a
containerd-shim-pyrunc-v2 over ttrpc) is given at wiring, a fake one in the unit tests.

Every call is a coroutine: the real client runs its blocking ttrpc calls in threads, a fake answers
on the loop. `wait` answers once the process exited, at once if it did while nobody was asking.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import PyruncdError


class ShimError(PyruncdError):
    """The shim refused a call or could not be reached."""


class ShimTimeout(ShimError, TimeoutError):
    """The shim did not answer in time (hung, or stopped): one line naming the container and the call."""


class ShimUnreachable(ShimError, ConnectionError):
    """Nothing answers on the shim's socket: it is gone, or going."""


@dataclass(frozen=True, kw_only=True)
class Exit:
    status: int
    exited_at: float  # seconds since the epoch; 0 when unknown


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """The container's init process: its bundle, its overlay rootfs, its stdio FIFOs, its OCI runtime."""
    bundle: Path
    lowers: list[Path]            # the image's snapshots, top first
    upper: Path
    work: Path
    runtime: str                  # a name in ShimFactory.runtimes
    stdout: Path
    stderr: Path | None = None    # None with a terminal: one stream
    stdin: Path | None = None
    terminal: bool = False


@dataclass(frozen=True, kw_only=True)
class ExecSpec:
    """A process to run in the container's namespaces: its OCI process (JSON) and stdio FIFOs."""
    exec_id: str
    process: dict[str, Any] = field(default_factory=dict)
    stdout: Path
    stderr: Path | None = None
    stdin: Path | None = None
    terminal: bool = False


class ShimClient(Protocol):
    """One container's shim."""

    @property
    def id(self) -> str: ...
    @property
    def address(self) -> str: ...

    async def alive(self, timeout: float) -> bool: ...
    async def create(self, task: TaskSpec) -> int: ...
    async def start(self, exec_id: str = "") -> int: ...
    async def wait(self, exec_id: str = "") -> Exit: ...
    async def kill(self, signal: int, all: bool = False, exec_id: str = "") -> None: ...
    async def exec(self, spec: ExecSpec) -> None: ...
    async def resize(self, width: int, height: int, exec_id: str = "") -> None: ...
    async def close_io(self, exec_id: str = "") -> None: ...
    async def delete(self, exec_id: str = "") -> None: ...
    async def pids(self) -> list[int]: ...
    async def pause(self) -> None: ...
    async def resume(self) -> None: ...
    async def update(self, resources: dict[str, Any]) -> None: ...
    async def stats(self) -> bytes: ...
    async def close(self, bundle: Path) -> None:
        """After the task's exit (or a failed start): delete the task and shut the shim down."""
    async def shutdown(self) -> None: ...


class ShimFactory(Protocol):
    """Starts shims, and finds them again after a daemon restart."""

    @property
    def runtimes(self) -> frozenset[str]: ...

    async def start(self, bundle: Path, container_id: str) -> ShimClient: ...
    def connect(self, container_id: str, address: str) -> ShimClient: ...
    async def delete_dead(self, bundle: Path, container_id: str) -> Exit | None:
        """After losing a shim (as containerd's `shim delete`): kill and delete the task, unmount; its exit."""
    async def running(self, container_ids: set[str]) -> dict[str, list[int]]:
        """The shim processes serving some of `container_ids`, by container."""
    async def discard(self, bundle: Path, container_id: str, pids: list[int]) -> None:
        """A shim the records never heard of (a start the daemon died in): shut it down, clean up after it."""
