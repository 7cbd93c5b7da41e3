"""Small filesystem helpers shared by the daemon's stores."""

import os
from pathlib import Path


def du(path: Path) -> int:
    """Bytes in the files under path (apparent sizes, symlinks not followed), as prune reports them."""
    total = 0
    for top, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(top, f)).st_size
            except OSError:
                pass  # removed while walking
    return total


# The data root and containers/ hold -e values (meta.db, bundles) and output (logs): root only, with
# search for root's group, as docker's 0710. A container never walks these paths: its rootfs and volumes
# are mounted in while pyrunc is still root, so a non-root container user needs no search here.
PRIVATE_DIR = 0o710
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """mkdir -p, then narrow to PRIVATE_DIR (also a directory an older pyruncd made wider)."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def write_private(path: Path, text: str) -> None:
    """Write a file only root reads, born PRIVATE_FILE (an existing one is narrowed before it is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, PRIVATE_FILE)
    with os.fdopen(fd, "w") as f:
        os.fchmod(fd, PRIVATE_FILE)
        f.write(text)
