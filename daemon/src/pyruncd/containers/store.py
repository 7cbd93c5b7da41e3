"""Container records in meta.db, and name/id lookups as docker does them: SQL only, lookups by key."""

import random
import re
import sqlite3

from ..errors import Conflict, InvalidArgument, NotFound
from .types import Config, Record, Status

_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_LEFT = ["admiring", "brave", "clever", "dazzling", "eager", "focused", "gallant", "happy", "jolly", "keen",
         "loving", "modest", "nifty", "optimistic", "quirky", "relaxed", "serene", "tender", "upbeat", "vibrant"]
_RIGHT = ["babbage", "curie", "darwin", "euler", "fermat", "gauss", "hopper", "turing", "lovelace", "noether",
          "pascal", "ritchie", "shannon", "thompson", "wozniak", "kepler", "lamport", "knuth", "hamilton", "dijkstra"]


class Store:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @staticmethod
    def _record(row: sqlite3.Row) -> Record:
        return Record(id=row["id"], name=row["name"], image=row["image"], image_id=row["image_id"],
                      created=row["created"], config=Config.loads(row["config"]), status=Status(row["status"]),
                      pid=row["pid"], exit_code=row["exit_code"], started_at=row["started_at"],
                      finished_at=row["finished_at"], error=row["error"], shim_address=row["shim_address"])

    def get(self, container_id: str) -> Record | None:
        row = self.conn.execute("SELECT * FROM containers WHERE id=?", (container_id,)).fetchone()
        return self._record(row) if row else None

    def find(self, *statuses: Status) -> list[Record]:
        """Newest first; only those in `statuses` when any is given."""
        if not statuses:
            rows = self.conn.execute("SELECT * FROM containers ORDER BY created DESC")
        else:
            marks = ",".join("?" * len(statuses))
            rows = self.conn.execute(f"SELECT * FROM containers WHERE status IN ({marks}) ORDER BY created DESC",
                                     [str(s) for s in statuses])
        return [self._record(r) for r in rows]

    def counts(self) -> dict[Status, int]:
        """How many containers are in each status (`pyctl info`)."""
        rows = self.conn.execute("SELECT status, COUNT(*) FROM containers GROUP BY status").fetchall()
        return {Status(status): n for status, n in rows}

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
            return str(row["id"])
        if re.fullmatch(r"[0-9a-f]+", text):
            rows = self.conn.execute("SELECT id FROM containers WHERE id LIKE ?", (text + "%",)).fetchall()
            if len(rows) > 1:
                raise Conflict(f"multiple IDs found with provided prefix: {text}")
            if rows:
                return str(rows[0]["id"])
        raise NotFound(f"No such container: {text}")

    def check_name(self, name: str) -> str:
        if not _NAME.match(name):
            raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
        return name.removeprefix("/")

    def new_name(self, container_id: str) -> str:
        """As dockerd's: a random adjective_surname, a digit appended after the first try; after six taken,
        the short id (the lists are small: with every pair taken a loop of retries would never end)."""
        for attempt in range(6):
            name = f"{random.choice(_LEFT)}_{random.choice(_RIGHT)}" + (str(random.randrange(10)) if attempt else "")
            if not self.conn.execute("SELECT 1 FROM containers WHERE name=?", (name,)).fetchone():
                return name
        return container_id[:12]

    def using_image(self, image_id: str) -> list[str]:
        return [r["id"] for r in self.conn.execute("SELECT id FROM containers WHERE image_id=?", (image_id,))]
