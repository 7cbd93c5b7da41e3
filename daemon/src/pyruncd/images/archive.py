"""Image import and export: docker-archive (`docker save` tars) and OCI image layouts.

Import stages every blob of every image into the content store, verifying each against
its digest, before anything is unpacked or recorded; see ImageStore.commit for the rest.
Export writes docker 25's combined form: manifest.json (docker-archive) beside
index.json and oci-layout, with uncompressed layers, which docker, podman, skopeo and
containerd all load. The OCI form writes the stored manifests and blobs verbatim.
"""

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .. import reference
from ..content import ContentStore
from ..errors import DigestMismatch, InvalidArgument, NotFound
from ..reference import Reference
from ..snapshots.unpack import HashingReader, decompressed
from .manifest import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    INDEX_TYPES,
    MANIFEST_TYPES,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    Descriptor,
    ImageConfig,
    Manifest,
    Platform,
    load_json,
    media_type_of,
    parse_index,
    select_platform,
    sha256,
)
from .store import Lease

ANNOTATION_NAME = "io.containerd.image.name"
ANNOTATION_REF = "org.opencontainers.image.ref.name"
_CHUNK = 1 << 20


@dataclass
class Staged:
    """An image whose blobs are all in the content store, not yet unpacked nor recorded."""

    manifest_digest: str
    manifest: Manifest
    config: ImageConfig
    tags: list[Reference] = field(default_factory=list)
    extra_blobs: list[str] = field(default_factory=list)


class _Source:
    """Files of an archive or a layout directory, by their path inside it."""

    def __init__(self, path: Path):
        self.path = path
        self._tar = None if path.is_dir() else tarfile.open(path, "r:*")

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()

    def exists(self, name: str) -> bool:
        if self._tar is None:
            return (self.path / name).is_file()
        try:
            self._tar.getmember(name)
            return True
        except KeyError:
            return False

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self._tar is None:
            target = (self.path / name).resolve()
            if not target.is_relative_to(self.path.resolve()):
                raise InvalidArgument(f"archive entry {name!r} points outside the archive")
            try:
                with open(target, "rb") as plain:
                    yield plain
            except FileNotFoundError:
                raise InvalidArgument(f"archive: missing file {name!r}") from None
            return
        try:
            member = self._tar.getmember(name)
        except KeyError:
            raise InvalidArgument(f"archive: missing file {name!r}") from None
        try:
            f = self._tar.extractfile(member)
        except KeyError:  # a link member whose target is not in the archive
            raise InvalidArgument(f"archive: {name!r} links to {member.linkname!r}, which is not in the archive") \
                from None
        if f is None:
            raise InvalidArgument(f"archive: {name!r} is not a regular file")
        yield f

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()


def _copy_in(content: ContentStore, src: IO[bytes], expected: str | None, size: int | None, lease: Lease) -> str:
    with content.writer(expected, size, lease.add) as w:
        while chunk := src.read(_CHUNK):
            w.write(chunk)
        return w.commit()


def _blob_path(digest: str) -> str:
    alg, hexpart = digest.split(":", 1)
    return f"blobs/{alg}/{hexpart}"


def stage(path: Path, content: ContentStore, platform: Platform, lease: Lease) -> list[Staged]:
    """Bring every image of a docker-archive or OCI layout (tar or directory) into the content store."""
    src = _Source(Path(path))
    try:
        if src.exists("manifest.json"):
            return _stage_docker(src, content, lease)
        if src.exists("index.json"):
            return _stage_oci(src, content, platform, lease)
        raise InvalidArgument("not a docker-archive nor an OCI layout: neither manifest.json nor index.json found")
    except (tarfile.TarError, OSError) as e:
        raise InvalidArgument(f"cannot read the archive: {e}") from None
    finally:
        src.close()


def _stage_docker(src: _Source, content: ContentStore, lease: Lease) -> list[Staged]:
    try:
        entries = json.loads(src.read("manifest.json"))
    except ValueError as e:
        raise InvalidArgument(f"manifest.json: not JSON: {e}") from None
    if not isinstance(entries, list):
        raise InvalidArgument("manifest.json: want a list of images")
    out = []
    for i, entry in enumerate(entries):
        where = f"manifest.json[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str) or not isinstance(
                entry.get("Layers"), list):
            raise InvalidArgument(f"{where}: want Config (string) and Layers (list)")
        for key in ("Layers", "RepoTags"):
            if not all(isinstance(x, str) for x in entry.get(key) or []) or not isinstance(entry.get(key) or [], list):
                raise InvalidArgument(f"{where}.{key}: want a list of strings")
        config_bytes = src.read(entry["Config"])
        config_digest = content.write(config_bytes, hold=lease.add)
        config = ImageConfig.parse(config_bytes)
        if len(entry["Layers"]) != len(config.diff_ids):
            raise InvalidArgument(f"{where}: {len(entry['Layers'])} layers but the config lists "
                                  f"{len(config.diff_ids)} diff_ids")
        layers = []
        for j, (name, diff_id) in enumerate(zip(entry["Layers"], config.diff_ids, strict=True)):
            with src.open(name) as f:
                digest = _copy_in(content, f, None, None, lease)
            with open(content.path(digest), "rb") as f:
                head = f.read(4)
            if head[:2] == b"\x1f\x8b":
                mt = DOCKER_LAYER_GZIP
            elif head == b"\x28\xb5\x2f\xfd":
                mt = OCI_LAYER_ZSTD
            else:
                mt = DOCKER_LAYER
                if digest != diff_id:
                    raise DigestMismatch(f"{where}.Layers[{j}] {name!r}: content hashes to {digest},"
                                         f" the config says {diff_id}")
            layers.append(Descriptor(mt, digest, content.size(digest)))
        doc = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
               "config": {"mediaType": DOCKER_CONFIG, "size": len(config_bytes), "digest": config_digest},
               "layers": [d.to_json() for d in layers]}
        manifest_bytes = json.dumps(doc, indent=3).encode()
        manifest_digest = content.write(manifest_bytes, hold=lease.add)
        tags = [reference.parse(t) for t in entry.get("RepoTags") or []]
        out.append(Staged(manifest_digest, Manifest.parse(manifest_bytes), config, tags))
    return out


def _stage_oci(src: _Source, content: ContentStore, platform: Platform, lease: Lease) -> list[Staged]:
    if src.exists("oci-layout"):
        layout = load_json(src.read("oci-layout"), "oci-layout")
        if layout.get("imageLayoutVersion") != "1.0.0":
            raise InvalidArgument(f"oci-layout: unsupported imageLayoutVersion {layout.get('imageLayoutVersion')!r}")
    index = parse_index(src.read("index.json"))
    out = []
    for desc in index:
        name = desc.annotations.get(ANNOTATION_NAME) or desc.annotations.get(ANNOTATION_REF, "")
        tags: list[Reference] = []
        # a bare tag ("latest") names no repository: such an image loads untagged, as with docker
        if name and ("/" in name or ":" in name):
            tags = [reference.parse(name)]
        out.append(_stage_oci_image(src, content, desc, platform, lease, tags, []))
    return out


def _fetch_verified(src: _Source, content: ContentStore, desc: Descriptor, lease: Lease) -> None:
    lease.add(desc.digest)
    if not content.has(desc.digest):
        with src.open(_blob_path(desc.digest)) as f:
            _copy_in(content, f, desc.digest, desc.size, lease)


def _stage_oci_image(src: _Source, content: ContentStore, desc: Descriptor, platform: Platform, lease: Lease,
                     tags: list[Reference], extra: list[str]) -> Staged:
    _fetch_verified(src, content, desc, lease)
    data = content.read(desc.digest)
    mt = media_type_of(load_json(data, f"blob {desc.digest}"), desc.media_type)
    if mt in INDEX_TYPES:
        child = select_platform(parse_index(data), platform)
        return _stage_oci_image(src, content, child, platform, lease, tags, extra + [desc.digest])
    if mt not in MANIFEST_TYPES:
        raise InvalidArgument(f"index.json: {desc.digest} has unsupported media type {mt!r}")
    manifest = Manifest.parse(data, mt)
    _fetch_verified(src, content, manifest.config, lease)
    config = ImageConfig.parse(content.read(manifest.config.digest))
    if len(manifest.layers) != len(config.diff_ids):
        raise InvalidArgument(f"manifest {desc.digest}: {len(manifest.layers)} layers but the config lists"
                              f" {len(config.diff_ids)} diff_ids")
    for layer in manifest.layers:
        _fetch_verified(src, content, layer, lease)
    return Staged(desc.digest, manifest, config, tags, extra)


@dataclass
class Export:
    """One image to write, under the names it is saved with (familiar form in manifest.json)."""

    manifest_digest: str
    manifest_bytes: bytes
    manifest: Manifest
    config: ImageConfig
    names: list[Reference]


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    _add_file(tf, name, io.BytesIO(data), len(data))


def _add_file(tf: tarfile.TarFile, name: str, f: IO[bytes], size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    tf.addfile(info, f)


def _add_dir(tf: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    tf.addfile(info)


def save(images: list[Export], content: ContentStore, out: Path, oci: bool, tmp: Path) -> None:
    """Write `images` as one tar at `out`: docker-archive + OCI layout, or the OCI layout of stored blobs."""
    written: set[str] = set()
    index_entries = []
    docker_entries = []
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        _add_dir(tf, "blobs")
        _add_dir(tf, "blobs/sha256")

        def put_blob(digest: str) -> None:
            if digest not in written:
                with open(content.path(digest), "rb") as f:
                    _add_file(tf, _blob_path(digest), f, content.size(digest))
                written.add(digest)

        for img in images:
            names: list[Reference | None] = [*img.names] or [None]
            if oci:
                for d in [img.manifest.config, *img.manifest.layers]:
                    put_blob(d.digest)
                if img.manifest_digest not in written:
                    _add_bytes(tf, _blob_path(img.manifest_digest), img.manifest_bytes)
                    written.add(img.manifest_digest)
                for n in names:
                    index_entries.append(_index_entry(img.manifest.media_type, img.manifest_digest,
                                                      len(img.manifest_bytes), n))
                continue
            put_blob(img.manifest.config.digest)
            layer_descs = []
            for layer, diff_id in zip(img.manifest.layers, img.config.diff_ids, strict=True):
                if diff_id not in written:
                    _put_uncompressed(tf, content, layer.digest, diff_id, tmp)
                    written.add(diff_id)
                layer_descs.append({"mediaType": OCI_LAYER, "digest": diff_id,
                                    "size": tf.getmember(_blob_path(diff_id)).size})
            oci_manifest = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG,
                           "digest": img.manifest.config.digest, "size": img.manifest.config.size},
                "layers": layer_descs}).encode()
            md = sha256(oci_manifest)
            if md not in written:
                _add_bytes(tf, _blob_path(md), oci_manifest)
                written.add(md)
            for n in names:
                index_entries.append(_index_entry(OCI_MANIFEST, md, len(oci_manifest), n))
            docker_entries.append({
                "Config": _blob_path(img.manifest.config.digest),
                "RepoTags": [n.familiar for n in img.names],
                "Layers": [_blob_path(d) for d in img.config.diff_ids]})
        _add_bytes(tf, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tf, "index.json", json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                 "manifests": index_entries}).encode())
        if not oci:
            _add_bytes(tf, "manifest.json", json.dumps(docker_entries).encode())


def _index_entry(media_type: str, digest: str, size: int, name: Reference | None) -> dict[str, Any]:
    d: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    if name is not None:
        d["annotations"] = {ANNOTATION_NAME: str(name), ANNOTATION_REF: name.tag or name.digest}
    return d


def _put_uncompressed(tf: tarfile.TarFile, content: ContentStore, digest: str, diff_id: str, tmp: Path) -> None:
    """Add the layer's uncompressed tar under its diff id; decompressed into a temp file for its size."""
    try:
        blob = open(content.path(digest), "rb")
    except FileNotFoundError:
        raise NotFound(f"layer blob {digest} is missing from the content store") from None
    with blob, tempfile.TemporaryFile(dir=tmp) as plain:
        reader = HashingReader(decompressed(blob))
        shutil.copyfileobj(reader, plain, _CHUNK)
        got = "sha256:" + reader.hash.hexdigest()
        if got != diff_id:
            raise DigestMismatch(f"layer {digest}: uncompressed content hashes to {got}, want {diff_id}")
        size = plain.tell()
        plain.seek(0)
        _add_file(tf, _blob_path(diff_id), plain, size)
