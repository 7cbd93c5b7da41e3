"""Media types and the JSON documents of images: index, manifest, config; platform matching."""

import hashlib
import json
import platform as _platform
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from ..reference import validate_digest

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
LAYER_TYPES = (OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, DOCKER_LAYER, DOCKER_LAYER_GZIP,
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", DOCKER_FOREIGN_LAYER)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386",
         "i386": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> Platform:
    machine = _platform.machine()
    arch = _ARCH.get(machine, machine)
    variant = {"aarch64": "v8", "armv7l": "v7", "armv6l": "v6"}.get(machine, "")
    return Platform("linux", arch, variant)


def parse_platform(text: str) -> Platform:
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: want os/arch[/variant]")
    return Platform(*(p.lower() for p in parts))


def platform_matches(want: Platform, have: dict[str, Any]) -> bool:
    if have.get("os") != want.os or have.get("architecture") != want.architecture:
        return False
    variant = have.get("variant", "")
    # arm64 images usually omit "v8"; treat absent and default variants as equal
    defaults = {"arm64": "v8"}
    def norm(v: str) -> str:
        return v or defaults.get(want.architecture, "")

    return not want.variant or norm(variant) == norm(want.variant)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: dict[str, Any], where: str) -> "Descriptor":
        try:
            digest = validate_digest(d["digest"], f"{where}.digest")
            size = int(d["size"])
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidArgument(f"{where}: bad descriptor: {e}") from None
        return cls(d.get("mediaType", ""), digest, size, d.get("platform") or {}, d.get("annotations") or {})

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.platform:
            d["platform"] = self.platform
        if self.annotations:
            d["annotations"] = self.annotations
        return d


def load_json(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidArgument(f"{what}: not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise InvalidArgument(f"{what}: not a JSON object")
    return doc


def media_type_of(doc: dict[str, Any], declared: str = "") -> str:
    mt: str = doc.get("mediaType") or declared
    if not mt:
        # OCI documents may omit mediaType: tell them apart by their fields
        mt = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    return mt


@dataclass(frozen=True)
class Manifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]

    @classmethod
    def parse(cls, data: bytes, declared: str = "") -> "Manifest":
        doc = load_json(data, "manifest")
        mt = media_type_of(doc, declared)
        if mt not in MANIFEST_TYPES:
            raise InvalidArgument(f"manifest: unsupported media type {mt!r}")
        if "config" not in doc:
            raise InvalidArgument("manifest: missing field config")
        layers = [Descriptor.from_json(d, f"manifest.layers[{i}]") for i, d in enumerate(doc.get("layers") or [])]
        for i, layer in enumerate(layers):
            if layer.media_type not in LAYER_TYPES:
                raise InvalidArgument(f"manifest.layers[{i}].mediaType: unsupported {layer.media_type!r}")
        return cls(mt, Descriptor.from_json(doc["config"], "manifest.config"), layers)


def parse_index(data: bytes) -> list[Descriptor]:
    doc = load_json(data, "index")
    return [Descriptor.from_json(d, f"index.manifests[{i}]") for i, d in enumerate(doc.get("manifests") or [])]


def select_platform(manifests: list[Descriptor], want: Platform) -> Descriptor:
    for d in manifests:
        if d.media_type in MANIFEST_TYPES and platform_matches(want, d.platform):
            return d
    have = ", ".join(str(Platform(d.platform.get("os", "?"), d.platform.get("architecture", "?"),
                                  d.platform.get("variant", ""))) for d in manifests)
    raise InvalidArgument(f"no matching manifest for {want} in the manifest list entries (has: {have or 'none'})")


MAX_LAYERS = 125  # docker's layer store refuses deeper chains: "max depth exceeded"

_STRINGS = list[str]
_MAP = dict
# field -> type, or a nested table; "*" types every value of a map
_RUN_FIELDS = {"User": str, "ExposedPorts": _MAP, "Env": _STRINGS, "Entrypoint": _STRINGS, "Cmd": _STRINGS,
               "Volumes": _MAP, "WorkingDir": str, "Labels": {"*": str}, "StopSignal": str, "ArgsEscaped": bool,
               "OnBuild": _STRINGS, "Shell": _STRINGS, "Domainname": str, "Hostname": str,
               "Healthcheck": {"Test": _STRINGS, "Interval": int, "Timeout": int, "StartPeriod": int,
                               "StartInterval": int, "Retries": int}}
_CONFIG_FIELDS = {"created": str, "author": str, "architecture": str, "os": str, "variant": str,
                  "os.version": str, "os.features": _STRINGS, "config": _RUN_FIELDS,
                  "rootfs": {"type": str, "diff_ids": _STRINGS},
                  "history": [{"created": str, "created_by": str, "author": str, "comment": str,
                               "empty_layer": bool}]}
_NAMES = {str: "a string", bool: "a boolean", int: "an integer", _MAP: "an object", _STRINGS: "a list of strings"}


def _check_fields(doc: dict[str, Any], fields: dict[str, Any], where: str) -> None:
    for key, want in fields.items():
        keys = doc if key == "*" else [key] if key in doc else []
        for k in keys:
            _check_value(doc[k], want, f"{where}.{k}" if key != "*" else f"{where}[{k!r}]")


def _check_value(value: object, want: Any, where: str) -> None:
    if value is None:
        return
    if isinstance(want, dict):
        if not isinstance(value, dict):
            raise InvalidArgument(f"{where}: want an object, not {_json_type(value)}")
        _check_fields(value, want, where)
    elif isinstance(want, list):
        if not isinstance(value, list):
            raise InvalidArgument(f"{where}: want a list, not {_json_type(value)}")
        for i, item in enumerate(value):
            _check_value(item, want[0], f"{where}[{i}]")
    elif want is _STRINGS:
        if not isinstance(value, list):
            raise InvalidArgument(f"{where}: want a list of strings, not {_json_type(value)}")
        for i, item in enumerate(value):
            _check_value(item, str, f"{where}[{i}]")
    elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise InvalidArgument(f"{where}: want {_NAMES[want]}, not {_json_type(value)}")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


@dataclass(frozen=True)
class ImageConfig:
    raw: bytes
    doc: dict[str, Any]

    @classmethod
    def parse(cls, data: bytes) -> "ImageConfig":
        """The config, its fields checked for their types as docker's decoder does (null is always fine)."""
        doc = load_json(data, "image config")
        _check_fields(doc, _CONFIG_FIELDS, "image config")
        rootfs = doc.get("rootfs") or {}
        if not isinstance(rootfs.get("diff_ids"), list):
            raise InvalidArgument("image config: missing field rootfs.diff_ids")
        if len(rootfs["diff_ids"]) > MAX_LAYERS:
            raise InvalidArgument("max depth exceeded")
        for i, d in enumerate(rootfs["diff_ids"]):
            validate_digest(d, f"image config rootfs.diff_ids[{i}]")
        return cls(data, doc)

    @property
    def diff_ids(self) -> list[str]:
        return list(self.doc["rootfs"]["diff_ids"])

    @property
    def created(self) -> str:
        return str(self.doc.get("created") or "")

    @property
    def platform(self) -> Platform:
        return Platform(self.doc.get("os", ""), self.doc.get("architecture", ""), self.doc.get("variant", ""))

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.doc.get("history") or [])


def chain_ids(diff_ids: list[str]) -> list[str]:
    """OCI chain ids: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256(f"{out[-1]} {d}".encode()))
    return out
