"""Login: check credentials against a registry (its ping), under the name the client stores them by."""

import logging

from ..errors import InvalidArgument
from .client import RegistryClient
from .credentials import Credentials

log = logging.getLogger("pyruncd.images")

_DOCKER_HUB_ALIASES = ("index.docker.io", "registry-1.docker.io")


def server_name(text: str) -> str:
    """docker login's server argument -> the registry host (docker.io for Docker Hub's many spellings)."""
    server = text.removeprefix("https://").removeprefix("http://").rstrip("/") or "docker.io"
    if server.endswith("/v1") or server in _DOCKER_HUB_ALIASES:
        server = "docker.io"
    return server


async def login(server: str, creds: Credentials, insecure: set[str]) -> str:
    """Returns the registry host the credentials are good for; AuthError if it refuses them."""
    host = server_name(server)
    if not creds.username or not (creds.password or creds.identity_token):
        raise InvalidArgument("login: username and password are required")
    async with RegistryClient(host, creds, insecure) as reg:
        await reg.ping()
    log.info("login", extra={"server": host, "username": creds.username})
    return host
