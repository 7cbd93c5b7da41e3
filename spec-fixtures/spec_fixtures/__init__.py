"""Offline builders of the test images, from Debian's busybox-static.

Layers from an in-memory description (hostile ones too), images, OCI layouts and docker-archives:
    from spec_fixtures import Layer, file, symlink, make_image, write_oci_layout
    layer = Layer.of([file("../escape", b"x"), symlink("etc/evil", "/../../etc")])
    write_oci_layout(dir, {"latest": make_image([busybox_layer(), layer])})
`build(out)` makes everything `make fixtures` ships (see spec_fixtures.build).
"""

from .build import GREETING, build, bundle_config
from .busybox import BUSYBOX, applets, big_image, busybox_entries, busybox_image, busybox_layer
from .docker import write_docker_archive
from .image import Image, canonical_json, host_platform, make_image, parse_platform
from .layer import (
    EPOCH,
    EPOCH_ISO,
    Entry,
    Layer,
    compress,
    device,
    directory,
    fifo,
    file,
    hardlink,
    make_layer,
    opaque,
    sha256,
    symlink,
    whiteout,
)
from .oci import write_oci_layout

__all__ = [
    "BUSYBOX", "EPOCH", "EPOCH_ISO", "GREETING", "Entry", "Image", "Layer", "applets", "big_image", "build",
    "bundle_config", "busybox_entries", "busybox_image", "busybox_layer", "canonical_json", "compress",
    "device", "directory", "fifo", "file", "hardlink", "host_platform", "make_image", "make_layer",
    "opaque", "parse_platform", "sha256", "symlink", "whiteout", "write_docker_archive", "write_oci_layout",
]
