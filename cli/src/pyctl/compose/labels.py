"""docker compose's labels, and its config hash: what tells `up` a container is out of date."""

from __future__ import annotations

import hashlib
import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PREFIX = "com.docker.compose."
PROJECT = PREFIX + "project"
SERVICE = PREFIX + "service"
NUMBER = PREFIX + "container-number"
CONFIG_HASH = PREFIX + "config-hash"
ONEOFF = PREFIX + "oneoff"
WORKING_DIR = PREFIX + "project.working_dir"
CONFIG_FILES = PREFIX + "project.config_files"
VERSION = PREFIX + "version"
NETWORK = PREFIX + "network"
VOLUME = PREFIX + "volume"
DEPENDS_ON = PREFIX + "depends_on"
IMAGE = PREFIX + "image"

VERSION_VALUE = "2.24.0"

# What does not change a container: how many there are, how their image is built or pulled.
_UNHASHED = {"build", "pull_policy", "scale", "profiles", "extends"}


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the service's resolved config as canonical JSON, replicas left out (as compose-go's
    ServiceHash leaves out scale, build and pull policy)."""
    kept = {k: v for k, v in config.items() if k not in _UNHASHED}
    deploy = {k: v for k, v in kept.pop("deploy", {}).items() if k != "replicas"}
    if deploy:
        kept["deploy"] = deploy
    return hashlib.sha256(json.dumps(kept, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
