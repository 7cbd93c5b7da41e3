"""What networks reads of a container and of its create flags. Protocols, met by the containers package's
records and options, so that networks does not import containers (which imports networks)."""

from collections.abc import Sequence
from typing import Any, Protocol


class Settings(Protocol):
    @property
    def hostname(self) -> str: ...
    @property
    def network(self) -> str: ...       # bridge, a network's name, host, none or container:<id>
    @property
    def net(self) -> dict[str, Any]: ...  # NetworkFlags resolved by validate(): aliases, ip, dns, ports...


class Config(Protocol):
    @property
    def settings(self) -> Settings: ...


class Container(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def pid(self) -> int: ...
    @property
    def config(self) -> Config: ...


class NetworkFlags(Protocol):
    """run/create's --network companions, as given."""

    @property
    def network_aliases(self) -> Sequence[str]: ...
    @property
    def ip(self) -> str: ...
    @property
    def dns(self) -> Sequence[str]: ...
    @property
    def dns_search(self) -> Sequence[str]: ...
    @property
    def add_hosts(self) -> Sequence[str]: ...
    @property
    def publish(self) -> Sequence[str]: ...
    @property
    def publish_all(self) -> bool: ...
    @property
    def links(self) -> Sequence[str]: ...      # --link NAME[:ALIAS]
