"""Container records in meta.db, and name/id lookups as docker does them."""

import json
import random
import re
import sqlite3
from dataclasses import asdict, dataclass, field

from ..errors import Conflict, InvalidArgument, NotFound
from ..volumes.mounts import MountPoint
from .hostconfig import HostConfig, RunState
from .spec import Process, Settings
from .status import TRANSITIONS, Status


@dataclass
class Config:
    """What the container is, fixed at create."""
    process: Process
    settings: Settings
    chain_ids: list[str]          # the image's layer chain, top first
    auto_remove: bool = False
    open_stdin: bool = False
    image_config: dict = field(default_factory=dict)
    mounts: list[MountPoint] = field(default_factory=list)
    host: HostConfig = field(default_factory=HostConfig)   # limits, security, restart, health
    run: RunState = field(default_factory=RunState)        # restart count, OOM, stopped by hand

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> "Config":
        d = json.loads(text)
        return cls(Process(**d["process"]), Settings(**d["settings"]), d["chain_ids"], d["auto_remove"],
                   d["open_stdin"], d["image_config"], [MountPoint(**m) for m in d.get("mounts", [])],
                   HostConfig.from_dict(d.get("host") or {}), RunState(**d.get("run", {})))


@dataclass
class Record:
    id: str
    name: str
    image: str
    image_id: str
    created: str
    config: Config
    status: Status = Status.CREATED
    pid: int = 0
    exit_code: int = 0
    started_at: str = ""
    finished_at: str = ""
    error: str = ""
    shim_address: str = ""

    def move(self, to: Status) -> None:
        if to not in TRANSITIONS[self.status]:
            raise Conflict(f"container {self.id[:12]} is {self.status}, cannot become {to}")
        self.status = to


_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_LEFT = ["admiring", "brave", "clever", "dazzling", "eager", "focused", "gallant", "happy", "jolly", "keen",
         "loving", "modest", "nifty", "optimistic", "quirky", "relaxed", "serene", "tender", "upbeat", "vibrant"]
_RIGHT = ["babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "turing", "lovelace", "noether",
          "pascal", "ritchie", "shannon", "thompson", "wozniak", "kepler", "lamport", "knuth", "hamilton", "dijkstra"]


class Store:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def _record(self, row: sqlite3.Row) -> Record:
        return Record(row["id"], row["name"], row["image"], row["image_id"], row["created"],
                      Config.loads(row["config"]), Status(row["status"]), row["pid"], row["exit_code"],
                      row["started_at"], row["finished_at"], row["error"], row["shim_address"])

    def all(self) -> list[Record]:
        return [self._record(r) for r in self.conn.execute("SELECT * FROM containers ORDER BY created DESC")]

    def insert(self, rec: Record) -> None:
        try:
            self.conn.execute(
                "INSERT INTO containers(id, name, image, image_id, created, config, status) VALUES (?,?,?,?,?,?,?)",
                (rec.id, rec.name, rec.image, rec.image_id, rec.created, rec.config.dumps(), rec.status))
        except sqlite3.IntegrityError:
            raise Conflict(f'Conflict. The container name "/{rec.name}" is already in use') from None

    def save(self, rec: Record) -> None:
        self.conn.execute(
            "UPDATE containers SET name=?, status=?, pid=?, exit_code=?, started_at=?, finished_at=?, error=?,"
            " shim_address=?, config=? WHERE id=?",
            (rec.name, rec.status, rec.pid, rec.exit_code, rec.started_at, rec.finished_at, rec.error,
             rec.shim_address, rec.config.dumps(), rec.id))

    def rename(self, container_id: str, name: str) -> None:
        try:
            self.conn.execute("UPDATE containers SET name=? WHERE id=?", (name, container_id))
        except sqlite3.IntegrityError:
            raise Conflict(f'Conflict. The container name "/{name}" is already in use') from None

    def delete(self, container_id: str) -> None:
        self.conn.execute("DELETE FROM containers WHERE id=?", (container_id,))

    def resolve(self, text: str) -> str:
        """An id, a name (with or without its leading /) or a unique id prefix -> the full id."""
        if not text:
            raise InvalidArgument("container name or id: empty")
        name = text.removeprefix("/")
        row = self.conn.execute("SELECT id FROM containers WHERE id=? OR name=?", (text, name)).fetchone()
        if row:
            return row["id"]
        if re.fullmatch(r"[0-9a-f]+", text):
            rows = self.conn.execute("SELECT id FROM containers WHERE id LIKE ?", (text + "%",)).fetchall()
            if len(rows) > 1:
                raise Conflict(f"multiple IDs found with provided prefix: {text}")
            if rows:
                return rows[0]["id"]
        raise NotFound(f"No such container: {text}")

    def check_name(self, name: str) -> str:
        if not _NAME.match(name):
            raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        return name.removeprefix("/")

    def new_name(self) -> str:
        while True:
            name = f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}"
            if not self.conn.execute("SELECT 1 FROM containers WHERE name=?", (name,)).fetchone():
                return name

    def using_image(self, image_id: str) -> list[str]:
        return [r["id"] for r in self.conn.execute("SELECT id FROM containers WHERE image_id=?", (image_id,))]
