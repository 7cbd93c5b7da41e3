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
