"""A private buildah (Debian's 1.28) for benches and tests: own root, runroot, storage.conf and
containers.conf in a temp dir, RUN steps on runc without a network, under a cgroup parent of its own.

Usage:
    with Buildah() as b:
        b.load_image(".../busybox.tar")                 # becomes localhost/busybox:latest; FROM busybox finds it
        b.buildah("bud", "--layers", *b.bud_flags(), "-t", "app", "ctx")

buildah has no daemon: every command reads the storage under the temp dir. stop() removes its
images and containers, then whatever mounts, processes and cgroups are left under its names.
crun refuses this machine's hybrid cgroups, so RUN goes through runc; root lacks CAP_SYS_RESOURCE,
so the default ulimits are ones the kernel accepts.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.harness.cleanup import kill_trees, pids_naming, remove_cgroups, unmount_under

BUILDAH = shutil.which("buildah") or "/usr/bin/buildah"


def available() -> str:
    """Why buildah cannot run here, or "" if it can."""
    if os.geteuid() != 0:
        return "rootful buildah needs root"
    for binary in (BUILDAH, shutil.which("runc") or "/usr/sbin/runc"):
        if not os.access(binary, os.X_OK):
            return f"{binary} is not installed (apt-get install buildah runc)"
    return ""


class Buildah:
    def __init__(self, storage_driver: str = "overlay") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="buildah-", dir="/tmp"))
        self.token = f"pyb{os.getpid()}{self.dir.name[-4:]}".replace("_", "x")
        root, runroot = self.dir / "root", self.dir / "run"
        (self.dir / "storage.conf").write_text(
            f'[storage]\ndriver = "{storage_driver}"\ngraphroot = "{root}"\nrunroot = "{runroot}"\n')
        (self.dir / "containers.conf").write_text(
            "[containers]\n"
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
            'netns = "none"\n'
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            'runtime = "runc"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{self.dir / "tmp"}"\n')
        (self.dir / "vartmp").mkdir()
        # our config files only: the host's /etc/containers settings must not leak in
        self.env = dict(os.environ, CONTAINERS_CONF=str(self.dir / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(self.dir / "storage.conf"), TMPDIR=str(self.dir / "vartmp"))
        self.global_flags = ["--root", str(root), "--runroot", str(runroot), "--storage-driver", storage_driver]

    def bud_flags(self) -> list[str]:
        """Flags every `buildah bud` here needs: no network, our cgroup parent, runc."""
        return ["--network", "none", "--cgroup-parent", f"/{self.token}", "--runtime", "runc"]

    # ----- lifecycle

    def stop(self) -> None:
        try:
            self.buildah("rm", "--all", check=False, timeout=60)
            self.buildah("rmi", "--all", "--force", check=False, timeout=120)
        finally:
            kill_trees(pids_naming(str(self.dir)), lambda: pids_naming(str(self.dir)))
            unmount_under(self.dir)
            remove_cgroups(self.token)
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Buildah":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----- clients

    def buildah_argv(self, *args: str) -> list[str]:
        return [BUILDAH, *self.global_flags, *args]

    def buildah(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.buildah_argv(*args), env=self.env, capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"buildah {' '.join(args)} exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def load_image(self, archive: str | os.PathLike) -> None:
        self.buildah("pull", "-q", f"docker-archive:{archive}", timeout=120)
