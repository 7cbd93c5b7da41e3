"""A private podman (Debian's 4.3) for tests: own root, runroot, tmpdir, network config dir,
storage and containers.conf in a temp dir, and its own cgroup parent for conmon and the
containers (cgroupfs manager: there is no systemd here).

Usage:
    with Podman() as pm:
        pm.load_image(".../busybox.tar")
        pm.podman("run", "--rm", *pm.run_flags(), pm.image, "true", runtime="/path/to/pyrunc")

podman has no daemon: every command is a process that reads the same state. Root here lacks
CAP_SYS_RESOURCE and podman's default RLIMIT_NOFILE (1048576) is above the hard limit, so
run_flags() carries --ulimit values the kernel accepts.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.harness.cleanup import kill_trees, pids_naming, remove_cgroups, unmount_under

PODMAN = shutil.which("podman") or "/usr/bin/podman"
ULIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=32768:32768"]


def available() -> str:
    """Why podman cannot run here, or "" if it can."""
    if os.geteuid() != 0:
        return "rootful podman needs root"
    for binary in (PODMAN, shutil.which("conmon") or "/usr/bin/conmon"):
        if not os.access(binary, os.X_OK):
            return f"{binary} is not installed (apt-get install podman)"
    return ""


class Podman:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="podman-", dir="/tmp"))
        self.token = f"pyp{os.getpid()}{self.dir.name[-4:]}".replace("_", "x")
        self.cgroup_parent = f"/{self.token}"
        self.image = "localhost/busybox:latest"
        root, runroot = self.dir / "root", self.dir / "run"
        (self.dir / "storage.conf").write_text(
            f'[storage]\ndriver = "overlay"\ngraphroot = "{root}"\nrunroot = "{runroot}"\n')
        (self.dir / "containers.conf").write_text(
            # for containers podman makes itself (a pod's infra container), as run_flags() for ours;
            # no network by default: netavark would set up a bridge, leave its nft chains and
            # turn ip_forward on
            "[containers]\n"
            'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
            'netns = "none"\n'
            "[engine]\n"
            'cgroup_manager = "cgroupfs"\n'
            # podman passes --log-format=json (and reads the error from that log) only to the
            # runtimes named here, by the binary's base name
            'runtime_supports_json = ["crun", "runc", "pyrunc"]\n'
            'events_logger = "file"\n'
            f'events_logfile_path = "{self.dir / "events.log"}"\n'
            f'tmp_dir = "{self.dir / "tmp"}"\n'
            f'volume_path = "{root / "volumes"}"\n'
            f'network_config_dir = "{self.dir / "net"}"\n')
        (self.dir / "vartmp").mkdir()
        # our config files only: the host's /etc/containers settings must not leak in
        self.env = dict(os.environ, CONTAINERS_CONF=str(self.dir / "containers.conf"),
                        CONTAINERS_STORAGE_CONF=str(self.dir / "storage.conf"), TMPDIR=str(self.dir / "vartmp"))
        self.global_flags = ["--root", str(root), "--runroot", str(runroot), "--tmpdir", str(self.dir / "tmp"),
                             "--storage-driver", "overlay", "--cgroup-manager", "cgroupfs",
                             "--events-backend", "file", "--network-config-dir", str(self.dir / "net")]

    def run_flags(self) -> list[str]:
        """Flags every `podman run` here needs: our cgroup parent, ulimits the kernel allows, and
        no network (podman's netavark setup is not what these tests are about)."""
        return ["--cgroup-parent", self.cgroup_parent, "--network", "none", *ULIMITS]

    # ----- lifecycle

    def stop(self) -> None:
        try:
            self.podman("rm", "--all", "--force", "--time", "0", check=False, timeout=60)
        finally:
            # containerd, shims, conmon, docker-proxy, containers: whatever names our temp dir
            kill_trees(pids_naming(str(self.dir)), lambda: pids_naming(str(self.dir)))
            unmount_under(self.dir)
            remove_cgroups(self.token)
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Podman":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----- clients

    def podman_argv(self, *args: str, runtime: str | None = None) -> list[str]:
        return [PODMAN, *self.global_flags, *(["--runtime", runtime] if runtime else []), *args]

    def podman(self, *args: str, runtime: str | None = None, check: bool = True, timeout: float = 60,
               input: bytes | None = None) -> subprocess.CompletedProcess:
        argv = self.podman_argv(*args, runtime=runtime)
        # output through files: conmon inherits nothing of ours, but `podman run -d` children may
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(argv, env=self.env, stdout=out, stderr=err, timeout=timeout, input=input,
                                  stdin=None if input is not None else subprocess.DEVNULL)
            out.seek(0)
            err.seek(0)
            proc.stdout, proc.stderr = out.read(), err.read()
        if check and proc.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def load_image(self, archive: str | os.PathLike) -> None:
        self.podman("load", "-i", str(archive), timeout=120)
