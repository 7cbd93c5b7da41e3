"""OCI image layouts (oci-layout, index.json, blobs/sha256/...)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from .image import INDEX, REF_NAME, Image, canonical_json
from .layer import sha256


def write_oci_layout(path: str, images: Mapping[str, Image | Sequence[Image]],
                     platforms: Sequence[str] = ()) -> dict[str, str]:
    """Write an OCI image layout at `path` (created if missing; index.json replaced).

    `images` maps a ref name ("latest") to an image, or to several images for different platforms.
    With `platforms` (e.g. ["linux/amd64", "linux/arm64"]) each single image is first copied once per
    platform. A ref with several images points, from index.json, to an image index listing one
    manifest per platform (as `docker buildx` writes); a ref with one image points to its manifest.
    Returns ref name -> digest of what index.json names.
    """
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)

    def put(data: bytes) -> str:
        digest = sha256(data)
        target = os.path.join(blobs, digest.split(":", 1)[1])
        if not os.path.exists(target):
            tmp = f"{target}.tmp-{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, target)
        return digest

    def put_image(image: Image) -> dict:
        for layer in image.layers:
            put(layer.blob)
        put(image.config_bytes)
        put(image.manifest_bytes)
        return image.descriptor()

    refs, manifests = {}, []
    for ref, value in images.items():
        variants = [value] if isinstance(value, Image) else list(value)
        if not variants:
            raise ValueError(f"images[{ref!r}]: no image")
        if platforms:
            variants = [image.for_platform(p) for image in variants for p in platforms]
        if len(variants) == 1:
            desc = put_image(variants[0])
        else:
            index = canonical_json({"schemaVersion": 2, "mediaType": INDEX,
                                    "manifests": [put_image(v) for v in variants]})
            desc = {"mediaType": INDEX, "digest": put(index), "size": len(index)}
        desc["annotations"] = {REF_NAME: ref}
        manifests.append(desc)
        refs[ref] = desc["digest"]

    with open(os.path.join(path, "oci-layout"), "wb") as f:
        f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))
    with open(os.path.join(path, "index.json"), "wb") as f:
        f.write(canonical_json({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}))
    return refs
