"""The credentials a client sends with a call, apart from the registry client (registry/auth.py,
client.py): the images service reads them at every call, while httpx is imported at the first
pull, push or login only (issue #17: an idle daemon does not hold it)."""

import base64
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()


def credentials_for(auths: Mapping[str, Credentials], host: str) -> Credentials | None:
    """The credentials a client holds for `host` (docker.io also under its legacy names)."""
    names = [host] + (["index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]
                      if host == "docker.io" else [])
    for n in names:
        if n in auths:
            return auths[n]
    return None
