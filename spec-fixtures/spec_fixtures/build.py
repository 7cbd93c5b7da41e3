"""Build every fixture into one directory, skipping the work when nothing it depends on changed.

Layout of OUT:
  bundle/rootfs/, bundle/config.json   an OCI bundle (config from `pyrunc spec`, no terminal)
  bundle-echo/config.json              same rootfs by absolute path, printing a greeting
  oci/                                 an OCI image layout, ref "latest"
  busybox.tar                          a docker-archive, tag busybox:latest
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import io
import json
import os
import shutil
import tarfile

from .busybox import BUSYBOX, busybox_image
from .docker import write_docker_archive
from .layer import EPOCH
from .oci import write_oci_layout

GREETING = "hello from a pyrunc container"
_STAMP = ".inputs"
_RENAME_EXCHANGE = 2


def bundle_config(root_path: str = "rootfs", args: list[str] | None = None) -> dict:
    """`pyrunc spec`'s config.json with terminal off, root.path and, if given, process.args replaced."""
    from pyrunc.default_spec import default_spec  # the runtime in the venv, so the template is ours

    spec = default_spec()
    spec["process"]["terminal"] = False
    spec["root"]["path"] = root_path
    if args is not None:
        spec["process"]["args"] = list(args)
    return spec


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent="\t")
        f.write("\n")


def _inputs_digest(out: str, busybox: str) -> str:
    """What the output depends on: the busybox binary, the config template, this package's code, OUT."""
    h = hashlib.sha256(os.path.abspath(out).encode())
    with open(busybox, "rb") as f:
        h.update(hashlib.sha256(f.read()).digest())
    h.update(json.dumps(bundle_config(), sort_keys=True).encode())
    here = os.path.dirname(__file__)
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as f:
                h.update(name.encode() + hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def _up_to_date(out: str, digest: str) -> bool:
    try:
        with open(os.path.join(out, _STAMP)) as f:
            stamp = f.read().strip()
    except FileNotFoundError:
        return False
    wanted = ("bundle/rootfs/bin/busybox", "bundle/config.json", "bundle-echo/config.json",
              "oci/index.json", "busybox.tar")
    return stamp == digest and all(os.path.exists(os.path.join(out, p)) for p in wanted)


def _build_into(tmp: str, out: str, busybox: str) -> None:
    image = busybox_image(busybox)
    bundle = os.path.join(tmp, "bundle")
    os.makedirs(bundle)
    # the rootfs on disk is exactly the layer, extracted by tarfile (it keeps modes, owners, mtimes)
    rootfs_dir = os.path.join(bundle, "rootfs")
    with tarfile.open(fileobj=io.BytesIO(image.layers[0].tar)) as tar:
        tar.extractall(rootfs_dir, numeric_owner=True, filter="fully_trusted")
        # tarfile leaves symlinks (and the top dir) dated now
        for member in tar.getmembers():
            if member.issym():
                os.utime(os.path.join(rootfs_dir, member.name), (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(rootfs_dir, (EPOCH, EPOCH))
    write_json(os.path.join(bundle, "config.json"), bundle_config())
    echo = os.path.join(tmp, "bundle-echo")
    os.makedirs(echo)
    rootfs = os.path.join(os.path.abspath(out), "bundle", "rootfs")  # valid once tmp becomes out
    write_json(os.path.join(echo, "config.json"), bundle_config(rootfs, ["echo", GREETING]))
    write_oci_layout(os.path.join(tmp, "oci"), {"latest": image})
    write_docker_archive(os.path.join(tmp, "busybox.tar"), {"busybox:latest": image})


def _swap(tmp: str, out: str) -> None:
    """Put tmp at out in one step (renameat2 RENAME_EXCHANGE), then drop what out held before."""
    if not os.path.exists(out):
        os.rename(tmp, out)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, tmp.encode(), at_fdcwd, out.encode(), _RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"renameat2 {tmp} <-> {out}: {os.strerror(err)}")
    shutil.rmtree(tmp)


def build(out: str, busybox: str = BUSYBOX, force: bool = False) -> bool:
    """Build all fixtures into `out`; returns False when it was already up to date.

    A lock beside `out` serialises concurrent builds; the new tree is made in a sibling temp dir and
    swapped in whole, so readers never see a half-written fixture.
    """
    out = os.path.abspath(out)
    parent, name = os.path.split(out)
    os.makedirs(parent, exist_ok=True)
    with open(os.path.join(parent, f".{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = _inputs_digest(out, busybox)
        if not force and _up_to_date(out, digest):
            return False
        tmp = os.path.join(parent, f".{name}.tmp-{os.getpid()}")
        try:
            _build_into(tmp, out, busybox)
            with open(os.path.join(tmp, _STAMP), "w") as f:
                f.write(digest + "\n")
            _swap(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the busybox test image fixtures, offline.")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--busybox", default=BUSYBOX, help="a static busybox binary (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    if not os.access(args.busybox, os.X_OK):
        parser.error(f"--busybox: {args.busybox} is not an executable (apt-get install busybox-static)")
    built = build(args.out, args.busybox, args.force)
    print(f"spec-fixtures: {'built' if built else 'up to date'}: {os.path.abspath(args.out)}")
    return 0
