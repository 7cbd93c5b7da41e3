"""A private containerd for tests: own config, root, state and sockets in a temp dir.

Usage:
    with Containerd() as ctrd:              # starts containerd, waits for its socket
        ctrd.import_image(".../busybox.tar")
        ctrd.ctr("run", "--rm", "--runtime", "io.containerd.pyrunc.v2", ctrd.image, "c1", "echo", "hi")

Any runc-compatible binary under containerd's own shim:
        ctrd.ctr("run", "--rm", "--runc-binary", "/work/main/.venv/bin/pyrunc", ctrd.image, "c2", "true")

Every test gets its own namespace. stop() (or leaving the with block) removes what containerd
left: tasks, shims of this containerd (found by their bundle under our state dir), rootfs mounts,
runtime state, and the temp dir.
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.harness.cleanup import kill_trees, remove_cgroups, stop_process, unmount_under

VENV_BIN = Path(__file__).resolve().parents[2] / ".venv" / "bin"
CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"
CTR = shutil.which("ctr") or "/usr/bin/ctr"
BUSYBOX_REF = "docker.io/library/busybox:latest"


def available() -> str:
    """Why containerd cannot run here, or "" if it can."""
    if os.geteuid() != 0:
        return "containerd needs root"
    if not os.access(CONTAINERD, os.X_OK) or not os.access(CTR, os.X_OK):
        return "containerd / ctr are not installed"
    return ""


class Containerd:
    def __init__(self, namespace: str | None = None, extra_path: list[str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ctrd-", dir="/tmp"))
        self.root = self.dir / "root"
        self.state = self.dir / "state"
        self.address = str(self.dir / "c.sock")
        self.namespace = namespace or f"t{os.getpid()}-{uuid.uuid4().hex[:8]}"  # containerd's identifier rules
        self.image = BUSYBOX_REF
        self.env = dict(os.environ)
        self.env["PATH"] = os.pathsep.join([*(extra_path or []), str(VENV_BIN), self.env.get("PATH", "")])
        self.proc: subprocess.Popen | None = None
        self.log = self.dir / "containerd.log"
        self.config = self.dir / "config.toml"
        self.config.write_text(
            "version = 2\n"
            f'root = "{self.root}"\n'
            f'state = "{self.state}"\n'
            "oom_score = 0\n"
            'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",\n'
            '  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",\n'
            '  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",\n'
            '  "io.containerd.tracing.processor.v1.otlp"]\n'
            f'[grpc]\n  address = "{self.address}"\n'
            f'[ttrpc]\n  address = "{self.address}.ttrpc"\n'
            f'[debug]\n  level = "debug"\n'
        )

    # ----- lifecycle

    def start(self, timeout: float = 20.0) -> "Containerd":
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([CONTAINERD, "--config", str(self.config)], env=self.env,
                                     stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"containerd exited with {self.proc.returncode}: {self.log_tail()}")
            if os.path.exists(self.address) and self.ctr("version", check=False).returncode == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError(f"containerd did not come up in {timeout}s: {self.log_tail()}")

    def restart(self) -> None:
        """Stop the daemon only (shims and containers keep running) and start it again."""
        self._stop_daemon()
        self.start()

    def _stop_daemon(self) -> None:
        stop_process(self.proc, 10)
        self.proc = None

    def stop(self) -> None:
        try:
            if self.proc and self.proc.poll() is None:
                self._remove_tasks()
        finally:
            self._stop_daemon()
            self._kill_leftovers()
            unmount_under(self.dir)
            shutil.rmtree(self.dir, ignore_errors=True)

    @contextlib.contextmanager
    def serving(self, image_tar):
        """Started, with image_tar imported; stopped afterwards, failing if it leaked anything."""
        from tests.harness import leaks

        try:
            self.start()
            self.import_image(image_tar)
            yield self
        finally:
            self.stop()
        left = leaks.leaks(self.namespace, self.dir)
        assert not left, "\n".join(left)

    def __enter__(self) -> "Containerd":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ----- clients

    def ctr(self, *args: str, check: bool = True, timeout: float = 60, input: bytes | None = None,
            namespace: str | None = None) -> subprocess.CompletedProcess:
        cmd = [CTR, "--address", self.address, "--namespace", namespace or self.namespace, *args]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}\n--- containerd log:\n{self.log_tail()}")
        return proc

    def import_image(self, archive: str | os.PathLike) -> str:
        """Import a docker-archive or OCI tar; returns the image reference it created."""
        self.ctr("images", "import", "--all-platforms", str(archive), timeout=120)
        refs = self.ctr("images", "ls", "-q").stdout.decode().split()
        if refs and self.image not in refs:
            self.image = refs[0]
        return self.image

    def bundle_dir(self, container_id: str) -> Path:
        return self.state / "io.containerd.runtime.v2.task" / self.namespace / container_id

    def shim_pids(self) -> list[int]:
        """Shims serving this containerd: processes whose working directory is one of our bundles."""
        pids = []
        task_dir = str(self.state / "io.containerd.runtime.v2.task") + "/"
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                comm = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if cwd.startswith(task_dir) and b"containerd-shim" in comm:
                pids.append(int(entry))
        return pids

    # ----- teardown helpers

    def _remove_tasks(self) -> None:
        """Kill and delete every task and container; a hung runtime must not hang the teardown
        (whatever is left is killed by _kill_leftovers)."""
        try:
            for ns in self._namespaces():
                out = self.ctr("tasks", "ls", "-q", namespace=ns, check=False, timeout=10).stdout.decode().split()
                for task in out:
                    self.ctr("tasks", "kill", "-s", "SIGKILL", "--all", task, namespace=ns, check=False, timeout=10)
                for task in out:
                    for _ in range(50):
                        if self.ctr("tasks", "delete", task, namespace=ns, check=False, timeout=10).returncode == 0:
                            break
                        time.sleep(0.1)
                for c in self.ctr("containers", "ls", "-q", namespace=ns, check=False, timeout=10).stdout.decode().split():
                    self.ctr("containers", "delete", c, namespace=ns, check=False, timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _namespaces(self) -> list[str]:
        out = self.ctr("namespaces", "ls", "-q", check=False, timeout=10).stdout.decode().split()
        return out or [self.namespace]

    def _kill_leftovers(self) -> None:
        """Shims that outlived containerd and their children (the containers: the shim is their
        subreaper), then whatever the runtimes still hold in this namespace (state, cgroups)."""
        kill_trees(self.shim_pids(), self.shim_pids)
        for runtime in ("runc", "pyrunc"):
            root = Path("/run/containerd") / runtime / self.namespace
            binary = shutil.which(runtime, path=self.env["PATH"])
            if root.is_dir() and binary:
                for cid in os.listdir(root):
                    subprocess.run([binary, "--root", str(root), "delete", "--force", cid],
                                   capture_output=True, check=False, timeout=30)
            shutil.rmtree(root, ignore_errors=True)
        remove_cgroups(self.namespace)
