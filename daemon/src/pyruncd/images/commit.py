"""A new image from a parent image (or none: scratch), new layers and a new config: commit, import, build.

The layers' blobs and snapshots are made first (snapshots/diff.py's `write_layer`, then the snapshot
store's `unpack` or `adopt`); this writes the OCI image config and manifest into the content store and
records the image. Only `now` reads a clock: the same inputs, `created` included, give the same id.
"""

import dataclasses
import datetime
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, NotFound
from ..reference import Reference
from ..snapshots.diff import LayerBlob, write_layer
from ..threads import in_thread
from .manifest import (
    MAX_LAYERS,
    OCI_CONFIG,
    OCI_MANIFEST,
    ImageConfig,
    Manifest,
    chain_ids,
    host_platform,
    sha256,
)
from .store import ImageRecord, ImageStore, Lease


@dataclass(frozen=True, kw_only=True)
class HistoryEntry:
    """One line of `docker history`: a layer's, or, with empty_layer, a config change's."""

    created: str
    created_by: str = ""
    author: str = ""
    comment: str = ""
    empty_layer: bool = False

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"created": self.created}
        for key, value in (("created_by", self.created_by), ("author", self.author), ("comment", self.comment)):
            if value:
                doc[key] = value
        if self.empty_layer:
            doc["empty_layer"] = True
        return doc


@dataclass(frozen=True, kw_only=True)
class Healthcheck:
    test: list[str]
    interval: int = 0       # nanoseconds, as docker's config holds them
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """The image config's `config`: what a container of the image starts with. None: not set."""

    user: str = ""
    exposed_ports: list[str] = field(default_factory=list)   # "80/tcp"
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    volumes: list[str] = field(default_factory=list)
    working_dir: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str = ""
    healthcheck: Healthcheck | None = None
    on_build: list[str] = field(default_factory=list)
    shell: list[str] | None = None
    args_escaped: bool = False

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> "RunConfig":
        """From an image config's `config` (already type-checked by ImageConfig.parse)."""
        doc = doc or {}
        hc = doc.get("Healthcheck")
        return cls(
            user=doc.get("User") or "", exposed_ports=sorted(doc.get("ExposedPorts") or {}),
            env=list(doc.get("Env") or []), entrypoint=doc.get("Entrypoint"), cmd=doc.get("Cmd"),
            volumes=sorted(doc.get("Volumes") or {}), working_dir=doc.get("WorkingDir") or "",
            labels=dict(doc.get("Labels") or {}), stop_signal=doc.get("StopSignal") or "",
            healthcheck=None if hc is None else Healthcheck(
                test=list(hc.get("Test") or []), interval=hc.get("Interval") or 0, timeout=hc.get("Timeout") or 0,
                start_period=hc.get("StartPeriod") or 0, start_interval=hc.get("StartInterval") or 0,
                retries=hc.get("Retries") or 0),
            on_build=list(doc.get("OnBuild") or []), shell=doc.get("Shell"),
            args_escaped=bool(doc.get("ArgsEscaped")))

    def to_json(self) -> dict[str, Any]:
        """Docker's field order and omissions (`omitempty`), so equal configs give equal bytes."""
        doc: dict[str, Any] = {}
        if self.user:
            doc["User"] = self.user
        if self.exposed_ports:
            doc["ExposedPorts"] = {p: {} for p in sorted(self.exposed_ports)}
        if self.env:
            doc["Env"] = list(self.env)
        if self.entrypoint is not None:
            doc["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            doc["Cmd"] = list(self.cmd)
        if self.healthcheck is not None:
            hc = self.healthcheck
            h: dict[str, Any] = {"Test": list(hc.test)}
            for key, value in (("Interval", hc.interval), ("Timeout", hc.timeout), ("StartPeriod", hc.start_period),
                               ("StartInterval", hc.start_interval), ("Retries", hc.retries)):
                if value:
                    h[key] = value
            doc["Healthcheck"] = h
        if self.args_escaped:
            doc["ArgsEscaped"] = True
        if self.volumes:
            doc["Volumes"] = {v: {} for v in sorted(self.volumes)}
        if self.working_dir:
            doc["WorkingDir"] = self.working_dir
        if self.labels:
            doc["Labels"] = dict(sorted(self.labels.items()))
        if self.on_build:
            doc["OnBuild"] = list(self.on_build)
        if self.stop_signal:
            doc["StopSignal"] = self.stop_signal
        if self.shell is not None:
            doc["Shell"] = list(self.shell)
        return doc


@dataclass(frozen=True, kw_only=True)
class NewImage:
    """What `commit_image` makes: the parent's layers and history, then these. The parent is recorded as the
    image's local parent (docker's `Parent`): a build step's previous image, a committed container's image."""

    parent: ImageRecord | None          # None: FROM scratch, import
    layers: Sequence[LayerBlob] = ()    # each with its snapshot already made
    history: Sequence[HistoryEntry] = ()  # one per layer without empty_layer, in order, and any empty ones
    config: RunConfig = field(default_factory=RunConfig)
    created: str                        # RFC 3339; the image's `created`
    author: str = ""
    comment: str = ""                   # the config's own (docker's commit -m and import -m set it)
    tags: Sequence[Reference] = ()


def image_config(new: NewImage, parent: ImageConfig | None) -> bytes:
    """The OCI image config's bytes (compact JSON in a fixed key order)."""
    layered = [h for h in new.history if not h.empty_layer]
    if len(layered) != len(new.layers):
        raise InvalidArgument(f"commit: {len(new.layers)} new layers but {len(layered)} history entries for layers")
    parent_doc = parent.doc if parent is not None else {}
    diff_ids = (parent.diff_ids if parent is not None else []) + [x.diff_id for x in new.layers]
    if len(diff_ids) > MAX_LAYERS:
        raise InvalidArgument("max depth exceeded")
    if parent is not None:
        # a parent without history still had its layers: docker shows one empty line each
        history = parent.history or [{"created": parent.created} for _ in parent.diff_ids]
    else:
        history = []
    plat = parent.platform if parent is not None and parent.platform.os else host_platform()
    doc: dict[str, Any] = {"architecture": plat.architecture}
    if new.author:
        doc["author"] = new.author
    if new.comment:
        doc["comment"] = new.comment
    doc["config"] = new.config.to_json()
    doc["created"] = new.created
    doc["history"] = history + [h.to_json() for h in new.history]
    doc["os"] = plat.os
    doc["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    if plat.variant:
        doc["variant"] = plat.variant
    for key in ("os.version", "os.features"):
        if key in parent_doc:
            doc[key] = parent_doc[key]
    return json.dumps(doc, separators=(",", ":")).encode()


def commit_image(store: ImageStore, new: NewImage, lease: Lease) -> ImageRecord:
    """Write the config and manifest of `new` and record it (moving its tags onto it); returns the record.

    The new layers' blobs and snapshots must exist, held by `lease` until the record names them."""
    parent_config = store.config(new.parent) if new.parent is not None else None
    parent_layers = list(new.parent.layers) if new.parent is not None else []
    config_bytes = image_config(new, parent_config)
    config = ImageConfig.parse(config_bytes)
    for layer, chain in zip(new.layers, chain_ids(config.diff_ids)[len(parent_layers):], strict=True):
        if not store.content.has(layer.digest):
            raise NotFound(f"commit: layer blob {layer.digest} is not in the content store")
        if store.snapshots.get(chain) is None:
            raise NotFound(f"commit: the snapshot of layer {layer.diff_id} is not made")
    store.content.write(config_bytes, hold=lease.add)
    manifest_doc = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config_bytes), "size": len(config_bytes)},
        "layers": [{"mediaType": x.media_type, "digest": x.digest, "size": x.size} for x in parent_layers]
        + [{"mediaType": x.media_type, "digest": x.digest, "size": x.size} for x in new.layers]}
    manifest_bytes = json.dumps(manifest_doc, separators=(",", ":")).encode()
    manifest_digest = store.content.write(manifest_bytes, hold=lease.add)
    return store.add(manifest_digest, Manifest.parse(manifest_bytes, OCI_MANIFEST), config, tags=new.tags,
                     parent=new.parent.id if new.parent is not None else "")


async def commit_changes(store: ImageStore, upper: Path, *, parent: ImageRecord | None, config: RunConfig,
                         history: HistoryEntry, author: str = "", tags: Sequence[Reference] = (),
                         placeholders: frozenset[str] = frozenset()) -> ImageRecord:
    """A new image of `parent` plus the changes in the directory `upper` (a container's upper dir, left in
    place: it is read, then unpacked anew as the layer's snapshot), as `docker commit` makes one.

    No changes at all give no layer, only `history` as an empty_layer entry, as docker records it.
    `placeholders`: as snapshots.diff.write_layer's."""
    with store.leases.hold() as lease:
        layer = await in_thread(lambda: write_layer(upper, store.content, hold=lease.add, placeholders=placeholders))
        layers = [] if layer.empty else [layer]
        if layers:
            parent_chain = parent.top_chain_id if parent is not None else ""
            chain = chain_ids([*(x.diff_id for x in (parent.layers if parent else [])), layer.diff_id])[-1]
            lease.add(chain)
            await store.snapshots.unpack(chain, parent_chain, layer.diff_id, store.content.path(layer.digest))
        else:
            history = dataclasses.replace(history, empty_layer=True)
        new = NewImage(parent=parent, layers=layers, history=[history], config=config, created=history.created,
                       author=author, comment=history.comment, tags=tags)
        return commit_image(store, new, lease)


def now() -> str:
    """The time as docker writes it in image configs: RFC 3339 in UTC, nanoseconds, Z."""
    t = datetime.datetime.now(datetime.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond * 1000:09d}Z"
