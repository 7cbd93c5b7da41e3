"""The resolved project: what `up` brings about and `config` prints. Built by project.py."""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


@dataclass(kw_only=True)
class Attachment:
    """A service on a network: the network's key in the file, and its options there."""

    network: str
    aliases: list[str] = field(default_factory=list)
    ipv4_address: str = ""
    priority: int = 0


@dataclass(kw_only=True)
class Service:
    name: str
    config: dict[str, Any]  # the long form, env_file folded into environment: what the hash covers
    image: str
    replicas: int
    depends_on: dict[str, str]  # service -> condition
    networks: list[Attachment]  # in priority order; empty with network_mode
    network_mode: str  # "" for the project's networks
    profiles: list[str]
    container_name: str
    stop_timeout: int | None  # stop_grace_period in whole seconds
    config_hash: str


@dataclass(kw_only=True)
class Network:
    key: str
    name: str
    external: bool
    internal: bool
    subnet: str
    gateway: str
    labels: dict[str, str]


@dataclass(kw_only=True)
class Volume:
    key: str
    name: str
    external: bool
    labels: dict[str, str]


@dataclass(kw_only=True)
class FileObject:
    """A secret or config: a host file mounted read-only."""

    key: str
    file: str


@dataclass(kw_only=True)
class Project:
    name: str
    working_dir: str
    config_files: list[str]
    services: dict[str, Service]  # the enabled ones, in file order
    disabled: dict[str, Service]  # those whose profiles are not enabled
    networks: dict[str, Network]
    volumes: dict[str, Volume]
    secrets: dict[str, FileObject]
    configs: dict[str, FileObject]
    environment: dict[str, str]
    tree: dict[str, Any]  # the resolved long form, for `config`

    def all_services(self) -> dict[str, Service]:
        return {**self.services, **self.disabled}
