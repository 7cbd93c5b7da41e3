"""The containers' records: what `create` is given, what a container is, and which status may follow which.

HostFlags is what `create` was given (strings, as typed); HostConfig is what they resolve to
(hostconfig.resolve), stored with the container; RunState is the part that changes as it runs
(restart count, OOM, stopped by hand). Every status change goes through Record.move.
"""

import enum
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import Conflict
from ..volumes.mounts import MountFlags, MountPoint
from . import resources as res
from .health import Healthcheck
from .logs import LogConfig
from .restart import RestartPolicy
from .spec import Process, Settings


class Status(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    REMOVING = "removing"


# the state machine: which status may follow which
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CREATED: frozenset({Status.RUNNING, Status.EXITED, Status.REMOVING}),
    Status.RUNNING: frozenset({Status.PAUSED, Status.EXITED}),
    Status.PAUSED: frozenset({Status.RUNNING, Status.EXITED}),
    Status.EXITED: frozenset({Status.RUNNING, Status.REMOVING}),
    Status.REMOVING: frozenset(),
}
LIVE = (Status.RUNNING, Status.PAUSED)


class IllegalTransition(Conflict):
    """A status change the state machine does not allow (a Conflict to the API)."""


@dataclass(kw_only=True)
class HostFlags:
    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: str = ""
    cpuset_cpus: str = ""
    pids_limit: str = ""
    ulimits: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    read_only: bool = False
    security_opt: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    restart: str = ""
    health_cmd: str = ""
    health_interval: str = ""
    health_timeout: str = ""
    health_retries: str = ""
    health_start_period: str = ""
    no_healthcheck: bool = False
    log_opts: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class ResourceFlags:
    """`pyctl update`'s limits, as typed; "" leaves one as it is."""
    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: str = ""
    cpuset_cpus: str = ""
    pids_limit: str = ""

    def given(self) -> bool:
        return any(vars(self).values())


@dataclass(kw_only=True)
class HostConfig:
    resources: res.Resources = field(default_factory=res.Resources)
    security: res.Security = field(default_factory=res.Security)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    health: Healthcheck | None = None
    log: LogConfig | None = None  # None: created before log options, the daemon's defaults apply

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HostConfig":
        return cls(resources=res.Resources(**d.get("resources", {})),
                   security=res.Security.from_dict(d.get("security", {})),
                   restart=RestartPolicy(**d.get("restart", {})),
                   health=Healthcheck(**d["health"]) if d.get("health") else None,
                   log=LogConfig(**d["log"]) if d.get("log") else None)


@dataclass(kw_only=True)
class RunState:
    restart_count: int = 0
    manually_stopped: bool = False
    oom_killed: bool = False


@dataclass(kw_only=True)
class CreateOptions:
    image: str
    name: str = ""
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    entrypoint_set: bool = False
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    network: str = ""
    runtime: str = ""
    auto_remove: bool = False
    network_aliases: list[str] = field(default_factory=list)
    ip: str = ""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    links: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""       # "" = the image's StopSignal, else SIGTERM
    stop_timeout: int = 0
    stop_timeout_set: bool = False
    group_add: list[str] = field(default_factory=list)
    mounts: MountFlags = field(default_factory=MountFlags)
    host: HostFlags = field(default_factory=HostFlags)


@dataclass(kw_only=True)
class Config:
    """What the container is, fixed at create (but for `host`, which update changes, and `run`)."""
    process: Process
    settings: Settings
    chain_ids: list[str]          # the image's layer chain, top first
    auto_remove: bool = False
    open_stdin: bool = False
    image_config: dict[str, Any] = field(default_factory=dict)
    mounts: list[MountPoint] = field(default_factory=list)
    host: HostConfig = field(default_factory=HostConfig)   # limits, security, restart, health
    run: RunState = field(default_factory=RunState)        # restart count, OOM, stopped by hand

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> "Config":
        d = json.loads(text)
        return cls(process=Process(**d["process"]), settings=Settings(**d["settings"]), chain_ids=d["chain_ids"],
                   auto_remove=d["auto_remove"], open_stdin=d["open_stdin"], image_config=d["image_config"],
                   mounts=[MountPoint(**m) for m in d.get("mounts", [])],
                   host=HostConfig.from_dict(d.get("host") or {}), run=RunState(**d.get("run", {})))


@dataclass(kw_only=True)
class Record:
    id: str
    name: str
    image: str
    image_id: str
    created: str
    config: Config
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    started_at: str = ""
    finished_at: str = ""
    error: str = ""
    shim_address: str = ""

    def move(self, to: Status) -> None:
        if to not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"container {self.id[:12]} is {self.status}, cannot become {to}")
        self.status = to

    @property
    def live(self) -> bool:
        return self.status in LIVE


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """Output of an attached or exec'd process."""
    stream: str  # stdout | stderr
    data: bytes


@dataclass(frozen=True, kw_only=True)
class ProcessExit:
    """The last item of an attach or exec stream."""
    code: int


@dataclass(kw_only=True)
class ExecOptions:
    cmd: list[str]
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    tty: bool = False
    interactive: bool = False
