"""The daemon's state in one place: its configuration and the libraries over --root."""

import fcntl
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import db
from .containers.logs import DEFAULT_LOG_OPTS
from .containers.store import Store as ContainerStore
from .content import ContentStore
from .errors import Conflict
from .events import EventBus
from .fsutil import private_dir
from .images.store import ImageStore
from .networks.manager import NetConfig, Networks
from .snapshots.store import Snapshotter
from .volumes.store import VolumeStore

DEFAULT_ROOT = Path("/var/lib/pyruncd")
DEFAULT_HOST = "unix:///run/pyruncd/pyruncd.sock"


@dataclass
class Config:
    root: Path = DEFAULT_ROOT
    host: str = DEFAULT_HOST
    insecure_registries: list[str] = field(default_factory=list)
    log_level: str = "info"
    cgroup_parent: str = "/pyruncd"  # every container's cgroup is <parent>/<id>, as docker's /docker/<id>
    network: NetConfig = field(default_factory=NetConfig)
    log_opts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LOG_OPTS))  # each container's, unless it says

    @property
    def socket_path(self) -> Path:
        return Path(self.host.removeprefix("unix://"))


class Daemon:
    def __init__(self, config: Config):
        self.config = config
        root = Path(config.root)
        private_dir(root)
        # one daemon per root: a second would race the first on every file
        self._lock = open(root / "pyruncd.lock", "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise Conflict(f"another pyruncd is using --root {root}") from None
        self.tmp = root / "tmp"
        shutil.rmtree(self.tmp, ignore_errors=True)  # spooled loads and saves of a previous run
        self.tmp.mkdir()
        self.conn = db.connect(root / "meta.db")
        self.content = ContentStore(root / "content")
        self.snapshots = Snapshotter(root / "snapshots", self.conn)
        self.images = ImageStore(self.conn, self.content, self.snapshots)
        self.events = EventBus()  # `pyctl events`: the containers, networks, volumes and images tell it
        self.volumes = VolumeStore(self.conn, root / "volumes", self.events)
        self.networks = Networks(self.conn, root, config.network,
                                 resolve_container=ContainerStore(self.conn).resolve, events=self.events)

    def close(self) -> None:
        self.networks.close()
        self.conn.close()
        self._lock.close()
        remove_cgroup_parent(self.config.cgroup_parent)


def remove_cgroup_parent(parent: str) -> None:
    """rmdir our cgroup parent wherever it exists; the kernel refuses while a container's cgroup is in it."""
    top = Path("/sys/fs/cgroup")
    name = parent.strip("/")
    if not name or not top.is_dir():
        return
    for hierarchy in [top, *(d for d in top.iterdir() if d.is_dir())]:
        try:
            (hierarchy / name).rmdir()
        except OSError:
            pass
