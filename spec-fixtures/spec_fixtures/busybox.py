"""The busybox test image, from Debian's busybox-static, and a big seeded image for benchmarks."""

from __future__ import annotations

import os
import random
import subprocess

from .image import Image, make_image
from .layer import Entry, Layer, directory, file, symlink

BUSYBOX = "/bin/busybox"
PASSWD = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = b"root:x:0:\nnobody:x:65534:\n"
_DIRS = {"dev": 0o755, "proc": 0o755, "sys": 0o755, "tmp": 0o1777, "root": 0o700, "etc": 0o755,
         "var": 0o755}


def applets(busybox: str = BUSYBOX) -> list[str]:
    """Where each applet lives, relative to / ("usr/bin/wget"), as the binary itself reports."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    return [line.strip("/") for line in out.splitlines() if line.strip("/")]


def busybox_entries(busybox: str = BUSYBOX) -> list[Entry]:
    """The rootfs: bin/busybox, one relative symlink to it per applet, /etc/passwd and /etc/group with
    root and nobody (65534), and the empty dirs a runtime mounts over; sorted, so parents come first."""
    with open(busybox, "rb") as f:
        binary = f.read()
    links = [p for p in applets(busybox) if p != "bin/busybox"]
    dirs = dict(_DIRS)
    for p in ["bin/busybox", *links]:
        parent = os.path.dirname(p)
        while parent:
            dirs.setdefault(parent, 0o755)
            parent = os.path.dirname(parent)
    entries = [directory(d, mode) for d, mode in dirs.items()]
    entries += [file("bin/busybox", binary, 0o755), file("etc/passwd", PASSWD), file("etc/group", GROUP)]
    entries += [symlink(p, os.path.relpath("bin/busybox", os.path.dirname(p) or ".")) for p in links]
    return sorted(entries, key=lambda e: e.path)


def busybox_layer(busybox: str = BUSYBOX) -> Layer:
    return Layer.of(busybox_entries(busybox), created_by=f"spec-fixtures: busybox rootfs from {busybox}")


def busybox_image(busybox: str = BUSYBOX, platform: str | None = None) -> Image:
    """One gzip layer of the busybox rootfs; Cmd ["sh"], a PATH, the host's platform by default."""
    return make_image([busybox_layer(busybox)], platform=platform)


def big_image(size_mb: int = 256, layers: int = 4, seed: int = 0, level: int = 1,
              busybox: str = BUSYBOX) -> Image:
    """A benchmark image: the busybox layer plus `layers` layers of seeded data, `size_mb` MiB in all
    (uncompressed), under /data/<n>/ in files from 4 KiB to 8 MiB. Each 4 KiB random block is repeated
    once, so layers compress to about half, like real ones, and gzip level 1 keeps building fast."""
    rng = random.Random(seed)
    per_layer = (size_mb << 20) // layers
    out = [busybox_layer(busybox)]
    for n in range(layers):
        entries, left, i = [directory("data"), directory(f"data/{n}")], per_layer, 0
        while left > 0:
            size = min(left, 4096 << rng.randrange(12))
            block_pairs = bytearray()
            while len(block_pairs) < size:
                block = rng.randbytes(4096)
                block_pairs += block + block
            entries.append(file(f"data/{n}/f{i:05d}", bytes(block_pairs[:size])))
            left -= size
            i += 1
        out.append(Layer.of(entries, created_by=f"spec-fixtures: big_image data {n}", level=level))
    return make_image(out)
