"""docker-archive tars: the format of `docker save` (manifest.json, repositories, per-layer dirs)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Mapping

from .image import Image, canonical_json
from .layer import EPOCH


def _split_tag(tag: str) -> tuple[str, str]:
    repo, sep, name = tag.rpartition(":")
    if not sep or "/" in name or not repo:
        raise ValueError(f"images: tag {tag!r} is not repository:tag")
    return repo, name


def _v1_layers(image: Image) -> list[tuple[str, bytes]]:
    """(legacy id, legacy json) per layer, bottom first. docker load reads manifest.json and ignores
    these, but ids must be stable and chain like docker's: each hashes its parent's id and the layer's
    diff_id. Unlike docker, the top layer's json omits the image config, so a layer shared by several
    images in one archive (same chain) is stored once even where it is one image's top."""
    out, parent = [], ""
    cfg = image.config
    for layer in image.layers:
        v1 = {"created": cfg.get("created"), "os": cfg["os"], "architecture": cfg["architecture"],
              "container_config": {}, "layer_id": layer.diff_id}
        if parent:
            v1["parent"] = parent
        v1_id = hashlib.sha256(canonical_json(v1)).hexdigest()
        del v1["layer_id"]
        out.append((v1_id, canonical_json({"id": v1_id, **v1})))
        parent = v1_id
    return out


def write_docker_archive(path: str, images: Mapping[str, Image]) -> None:
    """Write a `docker save` tar at `path` holding `images`, a map of tag ("busybox:latest") -> image.

    Tags mapping to the same image share one manifest.json entry; layers shared by several images
    (same chain) are stored once. Members are sorted, owned by 0:0 and dated EPOCH.
    """
    members: dict[str, bytes | None] = {}  # None: a directory
    manifest, repositories, by_config = [], {}, {}
    for tag, image in images.items():
        repo, name = _split_tag(tag)
        if image.config_digest in by_config:
            entry = by_config[image.config_digest]
        else:
            config_name = image.config_digest.split(":", 1)[1] + ".json"
            members[config_name] = image.config_bytes
            layer_paths = []
            v1 = _v1_layers(image)
            for (v1_id, v1_json), layer in zip(v1, image.layers, strict=True):
                members[v1_id] = None
                members[f"{v1_id}/VERSION"] = b"1.0"
                members[f"{v1_id}/json"] = v1_json
                members[f"{v1_id}/layer.tar"] = layer.tar
                layer_paths.append(f"{v1_id}/layer.tar")
            entry = {"Config": config_name, "RepoTags": [], "Layers": layer_paths, "_top": v1[-1][0]}
            by_config[image.config_digest] = entry
            manifest.append(entry)
        entry["RepoTags"].append(tag)
        repositories.setdefault(repo, {})[name] = entry["_top"]
    members["manifest.json"] = canonical_json([{k: v for k, v in e.items() if k != "_top"} for e in manifest])
    members["repositories"] = canonical_json(repositories)

    tmp = f"{path}.tmp-{os.getpid()}"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            data = members[name]
            info = tarfile.TarInfo(name)
            info.mtime, info.uname, info.gname = EPOCH, "", ""
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.mode, info.size = 0o644, len(data)
                tar.addfile(info, io.BytesIO(data))
    os.rename(tmp, path)
