"""The shapes of the API's structured arguments, for the type checker only (importers take them
under TYPE_CHECKING: at run time they are plain dicts, and `typing` stays unloaded on `pyctl run`).
Each is the request message of the same name, field for field."""

from typing import TypedDict


class ContainerConfig(TypedDict, total=False):
    image: str
    name: str
    cmd: list[str]
    entrypoint: list[str]
    entrypoint_set: bool  # entrypoint given, even empty (--entrypoint "")
    env: list[str]
    workdir: str
    user: str
    hostname: str
    labels: dict[str, str]
    tty: bool
    open_stdin: bool
    network: str
    runtime: str
    auto_remove: bool
    network_aliases: list[str]
    ip: str
    dns: list[str]
    dns_search: list[str]
    add_hosts: list[str]
    publish: list[str]
    publish_all: bool
    volumes: list[str]
    mounts: list[str]
    tmpfs: list[str]
    volumes_from: list[str]
    memory: str
    memory_swap: str
    cpus: str
    cpu_shares: str
    cpuset_cpus: str
    pids_limit: str
    ulimits: list[str]
    cap_add: list[str]
    cap_drop: list[str]
    privileged: bool
    read_only: bool
    security_opt: list[str]
    devices: list[str]
    restart: str
    health_cmd: str
    health_interval: str
    health_timeout: str
    health_retries: str
    health_start_period: str
    no_healthcheck: bool
    log_opts: list[str]


class ExecConfig(TypedDict, total=False):
    id: str
    cmd: list[str]
    env: list[str]
    workdir: str
    user: str
    tty: bool
    interactive: bool


class AttachInput(TypedDict, total=False):
    """The first names the process (id, and start or exec); the rest carry stdin and the terminal's size."""

    id: str
    start: bool
    exec: ExecConfig
    stdin: bytes
    width: int
    height: int
    close_stdin: bool


class ResourceUpdate(TypedDict, total=False):
    """`pyctl update`'s flags, as typed ("" leaves a setting as it is)."""

    memory: str
    memory_swap: str
    cpus: str
    cpu_shares: str
    cpuset_cpus: str
    pids_limit: str
    restart: str


class RegistryAuth(TypedDict, total=False):
    username: str
    password: str
    identity_token: str
