"""An image: layers plus its OCI image config, and the manifest that ties them together."""

from __future__ import annotations

import dataclasses
import json
import platform as _platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from .layer import EPOCH_ISO, Layer, sha256

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)

# platform.machine() -> GOARCH[/variant], the names OCI platforms use
_ARCHES = {
    "x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7", "armv6l": "arm/v6",
    "i686": "386", "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64",
}


def canonical_json(obj) -> bytes:
    """Sorted keys, no spaces: the same object always gives the same bytes and digest."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def host_platform() -> str:
    """This machine as an OCI platform string, e.g. "linux/amd64"."""
    machine = _platform.machine()
    return "linux/" + _ARCHES.get(machine, machine)


def parse_platform(platform: str) -> dict:
    """"os/arch[/variant]" -> the OCI platform object."""
    parts = platform.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"platform: {platform!r} is not os/arch[/variant]")
    out = {"os": parts[0], "architecture": parts[1]}
    if len(parts) == 3:
        out["variant"] = parts[2]
    return out


@dataclass(frozen=True, eq=False)
class Image:
    """Layers (bottom first) and the full image config object; see make_image()."""

    layers: tuple[Layer, ...]
    config: Mapping

    @cached_property
    def config_bytes(self) -> bytes:
        return canonical_json(self.config)

    @cached_property
    def config_digest(self) -> str:
        return sha256(self.config_bytes)

    @cached_property
    def manifest_bytes(self) -> bytes:
        return canonical_json({
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": self.config_digest, "size": len(self.config_bytes)},
            "layers": [layer.descriptor() for layer in self.layers],
        })

    @cached_property
    def manifest_digest(self) -> str:
        return sha256(self.manifest_bytes)

    @property
    def platform(self) -> dict:
        return {k: self.config[k] for k in ("os", "architecture", "variant") if k in self.config}

    def descriptor(self) -> dict:
        """The manifest's descriptor, with its platform, as an index lists it."""
        return {"mediaType": MANIFEST, "digest": self.manifest_digest, "size": len(self.manifest_bytes),
                "platform": self.platform}

    def for_platform(self, platform: str) -> Image:
        """The same layers with a config claiming `platform` ("linux/arm64"): for platform-selection tests."""
        config = {k: v for k, v in self.config.items() if k != "variant"}
        config.update(parse_platform(platform))
        return dataclasses.replace(self, config=config)


def make_image(layers: Sequence[Layer], *, config: Mapping | None = None, platform: str | None = None,
               created: str = EPOCH_ISO) -> Image:
    """An image of `layers`; `config` is the OCI `config` section (Cmd, Env, Entrypoint, User, ...,
    default Cmd ["sh"] and a PATH), `platform` defaults to the host's."""
    layers = tuple(layers)
    body = {
        "created": created,
        **parse_platform(platform or host_platform()),
        "config": dict(config) if config is not None else {"Env": list(DEFAULT_ENV), "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": created, "created_by": layer.created_by} for layer in layers],
    }
    return Image(layers, body)
