"""What the e2e tests share besides a daemon: the busybox image archive, and polling."""

import time
from pathlib import Path

from spec_fixtures import busybox_image, write_docker_archive

REPO = Path(__file__).resolve().parents[2]
FIXTURE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"


def busybox_tar(tmp: Path) -> Path:
    """`make fixtures`' busybox archive, or the same image written into tmp when it was not built."""
    if FIXTURE_TAR.exists():
        return FIXTURE_TAR
    tar = tmp / "busybox.tar"
    write_docker_archive(str(tar), {"busybox:latest": busybox_image()})
    return tar


def wait_for(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
