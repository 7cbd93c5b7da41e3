"""pyctl's credential store, in docker's config.json shape: {"auths": {host: {"auth": base64(user:pass)}}}.

It lives in $PYCTL_CONFIG (a directory) or ~/.pyctl, and is written with mode 0600.
"""

import base64
import json
import os
from pathlib import Path
from typing import Any


def config_path() -> Path:
    base = os.environ.get("PYCTL_CONFIG") or os.path.join(os.path.expanduser("~"), ".pyctl")
    return Path(base) / "config.json"


def normalize_server(server: str) -> str:
    s = server.removeprefix("https://").removeprefix("http://").rstrip("/")
    if not s or s.endswith("/v1") or s in ("index.docker.io", "registry-1.docker.io"):
        return "docker.io"
    return s


def load() -> dict[str, Any]:
    """The document (Any: JSON), {} when there is none."""
    try:
        doc = json.loads(config_path().read_text())
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise ValueError(f"{config_path()}: not JSON: {e}") from None
    return doc if isinstance(doc, dict) else {}


def save(doc: dict[str, Any]) -> None:
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent="\t")
    os.chmod(tmp, 0o600)
    os.rename(tmp, path)


def credentials() -> dict[str, tuple[str, str, str]]:
    """host -> (username, password, identity token); docker's config.json may hold identity tokens."""
    out: dict[str, tuple[str, str, str]] = {}
    for host, entry in (load().get("auths") or {}).items():
        user = pw = ""
        if entry.get("auth"):
            user, _, pw = base64.b64decode(entry["auth"]).decode().partition(":")
        out[host] = (user, pw, entry.get("identitytoken", ""))
    return out


def store(server: str, username: str, password: str) -> None:
    doc = load()
    doc.setdefault("auths", {})[server] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    save(doc)


def erase(server: str) -> bool:
    doc = load()
    if server not in (doc.get("auths") or {}):
        return False
    del doc["auths"][server]
    save(doc)
    return True
