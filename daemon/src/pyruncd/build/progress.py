"""What a build is asked (BuildOptions) and what it tells as it goes (the events), as kw_only records:
the gRPC service maps them to and from pyrunc.build.v1, the executor knows nothing of messages."""

from collections.abc import Callable
from dataclasses import dataclass, field

ALIVE_EVERY = 10.0


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    tags: tuple[str, ...] = ()
    dockerfile: str = "Dockerfile"  # its path in the context
    dockerfile_content: bytes | None = None  # given apart from the context (`-f -`, or a file outside it)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    network: str = ""  # the RUN steps' network: "" (the default bridge), bridge, host or none
    labels: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, bytes] = field(default_factory=dict)  # `--secret id=...`: RUN --mount=type=secret's
    platform: str = ""  # `--platform`: the target platform, as typed; "": this machine's


@dataclass(frozen=True, kw_only=True)
class StepStarted:
    text: str  # "Step 2/5 : RUN echo hi"


@dataclass(frozen=True, kw_only=True)
class StepStatus:
    text: str  # " ---> Using cache", " ---> Running in 0123456789ab", " ---> 0123456789ab"


@dataclass(frozen=True, kw_only=True)
class StepOutput:
    data: bytes


@dataclass(frozen=True, kw_only=True)
class StepAlive:
    """Nothing came for ALIVE_EVERY seconds: a step still running (the client shows it or not)."""

    seconds: float  # since the last step began


@dataclass(frozen=True, kw_only=True)
class BuildWarning:
    text: str


@dataclass(frozen=True, kw_only=True)
class Built:
    image_id: str


@dataclass(frozen=True, kw_only=True)
class Tagged:
    name: str  # familiar form


Event = StepStarted | StepStatus | StepOutput | StepAlive | BuildWarning | Built | Tagged
Emit = Callable[[Event], None]
