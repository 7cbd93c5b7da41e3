"""Layer snapshots: each layer unpacked once into snapshots/<n>/fs, shared by chain id.

A snapshot's fs holds only that layer's changes in overlay form; a container's rootfs
is an overlay whose lowerdirs are the fs of its image's chain, top first. Unpacking runs
in a worker thread into a private directory under snapshots/tmp; the directory is
renamed into place and recorded only once complete, so readers never see half a layer.
"""

import asyncio
import datetime
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..db import Transaction
from ..threads import in_thread
from .diff import prepare_adoption
from .unpack import apply_layer


@dataclass(frozen=True)
class Snapshot:
    id: int
    chain_id: str
    parent: str
    diff_id: str
    size: int
    fs: Path


class Snapshotter:
    def __init__(self, root: Path, conn: sqlite3.Connection):
        self.root = Path(root)
        self.tmp = self.root / "tmp"
        self.conn = conn
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)  # unpacks cut short by a crash
        self.tmp.mkdir()
        os.chmod(self.root, 0o700)
        self._locks: dict[str, asyncio.Lock] = {}
        self._remove_unrecorded()

    def _remove_unrecorded(self) -> None:
        """Snapshot dirs no row names: a crash between the rename and the commit leaves one, and its
        number would be handed out again, so every later unpack into it would fail."""
        known = {str(r[0]) for r in self.conn.execute("SELECT id FROM snapshots")}
        for d in self.root.iterdir():
            if d.name.isdigit() and d.name not in known:
                doomed = self.tmp / f"rm-{d.name}"
                os.rename(d, doomed)
                shutil.rmtree(doomed, ignore_errors=True)

    def _row(self, row: sqlite3.Row) -> Snapshot:
        return Snapshot(row["id"], row["chain_id"], row["parent"], row["diff_id"], row["size"],
                        self.root / str(row["id"]) / "fs")

    def get(self, chain_id: str) -> Snapshot | None:
        row = self.conn.execute("SELECT * FROM snapshots WHERE chain_id=?", (chain_id,)).fetchone()
        return self._row(row) if row else None

    def all(self) -> list[Snapshot]:
        return [self._row(r) for r in self.conn.execute("SELECT * FROM snapshots ORDER BY id")]

    def chain(self, chain_id: str) -> list[Snapshot]:
        """The snapshot and its parents, top first: the order of overlay's lowerdir."""
        out = []
        while chain_id:
            snap = self.get(chain_id)
            if snap is None:
                break
            out.append(snap)
            chain_id = snap.parent
        return out

    async def unpack(self, chain_id: str, parent: str, diff_id: str, blob: Path) -> tuple[Snapshot, bool]:
        """The snapshot of `chain_id`, unpacking `blob` if it is not there yet; True if it was made now."""
        lock = self._locks.setdefault(chain_id, asyncio.Lock())
        async with lock:
            existing = self.get(chain_id)
            if existing is not None:
                return existing, False
            lowers = [s.fs for s in self.chain(parent)]
            work = Path(tempfile.mkdtemp(dir=self.tmp, prefix="unpack-"))
            try:
                fs = work / "fs"
                fs.mkdir()
                size = await in_thread(self._apply, blob, fs, diff_id, lowers)
                self._record(work, chain_id, parent, diff_id, size)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            made = self.get(chain_id)
            assert made is not None  # recorded just above
            return made, True

    async def adopt(self, chain_id: str, parent: str, diff_id: str, upper: Path, size: int,
                    blob: Path, placeholders: frozenset[str] = frozenset()) -> tuple[Snapshot, bool]:
        """The snapshot of `chain_id`, made by moving `upper` into place rather than unpacking `blob`.

        `upper` is a directory of changes (an unmounted overlay upper dir) whose layer tar is `blob`; the
        caller gives it up: it is moved, or left as it was if the snapshot exists already. On another file
        system than the snapshots, `blob` is unpacked instead. True if the snapshot was made now.
        `placeholders`: the ones write_layer was given for `blob`.

        If the upper dir is refused (a device node), it is left half prepared: the caller discards it."""
        if os.stat(upper).st_dev != os.stat(self.tmp).st_dev:
            return await self.unpack(chain_id, parent, diff_id, blob)
        lock = self._locks.setdefault(chain_id, asyncio.Lock())
        async with lock:
            existing = self.get(chain_id)
            if existing is not None:
                return existing, False
            work = Path(tempfile.mkdtemp(dir=self.tmp, prefix="adopt-"))
            try:
                await in_thread(prepare_adoption, upper, placeholders)
                os.rename(upper, work / "fs")
                self._record(work, chain_id, parent, diff_id, size)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        made = self.get(chain_id)
        assert made is not None  # recorded just above
        return made, True

    def _record(self, work: Path, chain_id: str, parent: str, diff_id: str, size: int) -> None:
        """Record the snapshot whose fs is work/fs and move it into place, in one transaction."""
        now = datetime.datetime.now(datetime.UTC).isoformat()
        with Transaction(self.conn) as c:
            cur = c.execute(
                "INSERT INTO snapshots(chain_id, parent, diff_id, size, created_at) VALUES (?,?,?,?,?)",
                (chain_id, parent, diff_id, size, now))
            os.rename(work, self.root / str(cur.lastrowid))

    @staticmethod
    def _apply(blob: Path, fs: Path, diff_id: str, lowers: list[Path]) -> int:
        with open(blob, "rb") as f:
            return apply_layer(f, fs, diff_id, lowers)

    def remove(self, chain_id: str) -> int:
        """Delete a snapshot; returns the bytes it held. Callers make sure nothing uses it."""
        snap = self.get(chain_id)
        if snap is None:
            return 0
        with Transaction(self.conn) as c:
            c.execute("DELETE FROM snapshots WHERE chain_id=?", (chain_id,))
        # rename first so a crash mid-delete leaves only a tmp leftover, swept at start
        doomed = self.tmp / f"rm-{snap.id}"
        os.rename(snap.fs.parent, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
        return snap.size

