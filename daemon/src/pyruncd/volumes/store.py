"""Named volumes: directories <root>/volumes/<name>/_data, their metadata and users in meta.db.

Database calls run on the event loop's thread (sqlite's connection lives there); removing the
files of a volume, which may be large, is left to `remove_dirs` in a worker thread.
"""

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import overlay
from ..clock import rfc3339
from ..db import Transaction
from ..errors import Conflict, InvalidArgument, NotFound
from ..events import EventBus
from ..fsutil import du
from .mounts import ANONYMOUS_LABEL, MountPoint, new_name, validate_name

DRIVER = "local"


@dataclass
class Volume:
    name: str
    mountpoint: Path
    created_at: str
    labels: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False
    users: list[str] = field(default_factory=list)   # ids of the containers that mount it

    def inspect(self) -> dict[str, Any]:
        """As `docker volume inspect` shows it."""
        return {"CreatedAt": self.created_at, "Driver": DRIVER, "Labels": self.labels or None,
                "Mountpoint": str(self.mountpoint), "Name": self.name, "Options": None, "Scope": "local"}


def parse_filters(items: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for f in items:
        k, eq, v = f.partition("=")
        if not eq or k not in ("name", "label", "dangling", "driver"):
            raise InvalidArgument(f"invalid filter '{f}'")
        if k == "dangling" and v not in ("true", "false", "1", "0"):
            raise InvalidArgument(f"invalid filter 'dangling={v}'")
        out.append((k, v))
    return out


def matches(v: Volume, filters: Sequence[tuple[str, str]]) -> bool:
    """docker's rule: OR within one key, AND across keys."""
    by: dict[str, list[bool]] = {}
    for k, val in filters:
        if k == "name":
            ok = val in v.name
        elif k == "driver":
            ok = val == DRIVER
        elif k == "dangling":
            ok = (not v.users) == (val in ("true", "1"))
        else:
            key, eq, want = val.partition("=")
            ok = key in v.labels and (not eq or v.labels[key] == want)
        by.setdefault(k, []).append(ok)
    return all(any(oks) for oks in by.values())


def remove_dirs(dirs: list[Path]) -> int:
    """Delete volumes' directories; returns the bytes they held. In a worker thread."""
    freed = 0
    for d in dirs:
        freed += du(d)
        shutil.rmtree(d, ignore_errors=True)
    return freed


class VolumeStore:
    def __init__(self, conn: sqlite3.Connection, root: Path, events: EventBus | None = None):
        """`events`: the daemon's event stream (create, destroy, prune; mount and unmount are the
        containers' runtime's)."""
        self.conn = conn
        self.root = root
        self.events = events or EventBus()
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o701)  # as docker's: others may reach a _data they know, not list the names

    def dir(self, name: str) -> Path:
        return self.root / name

    def _volume(self, row: sqlite3.Row) -> Volume:
        users = [r["container_id"] for r in self.conn.execute(
            "SELECT container_id FROM volume_users WHERE volume=? ORDER BY container_id", (row["name"],))]
        return Volume(row["name"], self.dir(row["name"]) / "_data", row["created_at"], json.loads(row["labels"]),
                      bool(row["anonymous"]), users)

    def get(self, name: str) -> Volume:
        row = self.conn.execute("SELECT * FROM volumes WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"get {name}: no such volume")
        return self._volume(row)

    def find(self, filters: Sequence[tuple[str, str]] = ()) -> list[Volume]:
        vols = [self._volume(r) for r in self.conn.execute("SELECT * FROM volumes ORDER BY name")]
        return [v for v in vols if matches(v, filters)]

    def create(self, name: str = "", labels: dict[str, str] | None = None, driver: str = "",
               anonymous: bool = False) -> Volume:
        """A new volume, or the existing one of that name (docker's create is idempotent)."""
        if driver and driver != DRIVER:
            raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
        if name:
            validate_name(name)
        else:
            name, anonymous = new_name(), True
        labels = dict(labels or {})
        if anonymous:
            labels.setdefault(ANONYMOUS_LABEL, "")
        self.conn.execute("INSERT OR IGNORE INTO volumes(name, created_at, labels, anonymous) VALUES (?,?,?,?)",
                          (name, rfc3339(fraction=False), json.dumps(labels), int(anonymous)))
        (self.dir(name) / "_data").mkdir(parents=True, exist_ok=True)
        self.events.emit("volume", "create", name, driver=DRIVER)  # as dockerd, for an existing one too
        return self.get(name)

    def place(self, mounts: list[MountPoint]) -> None:
        """Each volume mount's source: the volume's _data directory."""
        for m in mounts:
            if m.type == "volume":
                m.source = str(self.dir(m.name) / "_data")

    def attach(self, container_id: str, mounts: list[MountPoint]) -> None:
        """At create, once the container is recorded: its volumes made (if new) and recorded as in use
        by it; missing -v bind sources made."""
        with Transaction(self.conn):
            for m in mounts:
                if m.type != "volume":
                    continue
                self.conn.execute(
                    "INSERT OR IGNORE INTO volumes(name, created_at, labels, anonymous) VALUES (?,?,?,?)",
                    (m.name, rfc3339(fraction=False), json.dumps({**m.labels, **({ANONYMOUS_LABEL: ""} if m.anonymous else {})}),
                     int(m.anonymous)))
                self.conn.execute("INSERT OR IGNORE INTO volume_users(volume, container_id) VALUES (?,?)",
                                  (m.name, container_id))
        for m in mounts:  # dockerd tells a create for each volume a container names, new or not
            if m.type == "volume":
                self.events.emit("volume", "create", m.name, driver=DRIVER)
        for m in mounts:
            if m.type == "volume":
                Path(m.source).mkdir(parents=True, exist_ok=True)
            elif m.type == "bind" and m.create_source and not os.path.lexists(m.source):
                os.makedirs(m.source, 0o755, exist_ok=True)

    def remove(self, name: str, force: bool = False) -> Path | None:
        """Forget a volume no container uses; returns its directory for remove_dirs.
        -f only hides a missing volume: one in use is never removed, as docker."""
        try:
            v = self.get(name)
        except NotFound:
            if force:
                return None
            raise
        if v.users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(v.users)}]")
        try:
            self.conn.execute("DELETE FROM volumes WHERE name=?", (name,))
        except sqlite3.IntegrityError:  # a container took it meanwhile
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(self.get(name).users)}]") from None
        self.events.emit("volume", "destroy", name, driver=DRIVER)
        return self.dir(name)

    def prune(self, all: bool, filters: Sequence[tuple[str, str]] = ()) -> tuple[list[str], list[Path]]:
        """Forget unused volumes: anonymous ones, or all with `all`; returns their names, and their
        directories for remove_dirs."""
        names: list[str] = []
        dirs: list[Path] = []
        for v in self.find(filters):
            if v.users or not (all or v.anonymous):
                continue
            try:
                d = self.remove(v.name)
            except Conflict:
                continue
            if d is not None:
                dirs.append(d)
            names.append(v.name)
        return names, dirs

    def release_anonymous(self, mounts: list[MountPoint]) -> list[Path]:
        """After a container is gone (`rm -v`, `run --rm`): its anonymous volumes no other container uses."""
        dirs = []
        for m in mounts:
            if m.type == "volume" and m.anonymous:
                try:
                    d = self.remove(m.name, force=True)
                except Conflict:
                    continue  # shared through --volumes-from: kept, as docker does
                if d is not None:
                    dirs.append(d)
        return dirs


def seed(mounts: list[MountPoint], lowers: list[Path], upper: Path, work: Path, target: Path) -> None:
    """Docker's copy-up: each volume mount that asks for it and is empty gets the image's content at its
    destination (files, owners, modes), read from the container's overlay mounted at target for the
    while. In a worker thread."""
    todo = [m for m in mounts if m.type == "volume" and m.copy_data and not any(Path(m.source).iterdir())]
    if not todo:
        return
    with overlay.mounted(lowers, upper, work, target, "the container's filesystem") as rootfs:
        for m in todo:
            src = _inside(rootfs, m.destination)
            if src is None or not src.is_dir():
                continue
            r = subprocess.run(["cp", "-a", "--", f"{src}/.", m.source], capture_output=True, text=True)
            if r.returncode != 0:
                raise InvalidArgument(f"copy the image's {m.destination} into volume {m.name}: {r.stderr.strip()}")


def _inside(rootfs: Path, path: str) -> Path | None:
    """rootfs/path with symlinks resolved inside rootfs, never outside it."""
    cur = rootfs
    parts = [p for p in path.split("/") if p]
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            cur = cur.parent if cur != rootfs else rootfs
            continue
        nxt = cur / part
        if nxt.is_symlink():
            hops += 1
            if hops > 40:
                return None
            target = os.readlink(nxt)
            if target.startswith("/"):
                cur = rootfs
            parts = [p for p in target.split("/") if p] + parts
            continue
        if not nxt.exists():
            return None
        cur = nxt
    return cur

