"""The build cache: which image a step made from which inputs, in meta.db (the fifth migration).

A step's key covers all that decides its result, as BuildKit's content-based keys do:
- the image it starts from (an image id is the digest of its config, which names every layer below);
- the instruction after variable substitution, with the shell it runs under;
- the build args it sees (a RUN's environment includes the stage's ARGs);
- for COPY and ADD, the sources' content (sources.source_digest: bytes, modes, owners, link targets;
  never mtimes), or the image a `COPY --from` reads.
A hit gives the very image made before, `created` included, so an unchanged rebuild gives the same id.
An entry goes with its image (ON DELETE CASCADE): a removed or pruned image is a miss.
"""

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..clock import rfc3339
from ..db import Transaction


@dataclass(frozen=True, kw_only=True)
class StepKey:
    parent: str  # the image id the step starts from; "" for scratch
    instruction: str  # the substituted instruction, as `created_by` shows it
    # the rest that decides the result: a RUN's environment (its build args), COPY's flags and WORKDIR, ...
    inputs: Mapping[str, str] = field(default_factory=dict)
    sources: str = ""  # COPY/ADD: the sources' digest, or the --from image's id with the paths

    def digest(self) -> str:
        text = json.dumps([self.parent, self.instruction, sorted(self.inputs.items()), self.sources],
                          separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class CacheEntry:
    key: str  # StepKey.digest()
    image_id: str
    created: str


class BuildCache:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def get(self, key: StepKey) -> str | None:
        """The image id a step with this key made, if that image is still there."""
        row = self.conn.execute("SELECT image_id FROM build_cache WHERE key=?", (key.digest(),)).fetchone()
        return None if row is None else str(row[0])

    def entries(self) -> list[CacheEntry]:
        """Every entry, oldest first (what `system df` counts as the build cache)."""
        return [CacheEntry(key=str(r[0]), image_id=str(r[1]), created=str(r[2])) for r in self.conn.execute(
            "SELECT key, image_id, created FROM build_cache ORDER BY created, key")]

    def clear(self) -> list[str]:
        """Forget every entry; the image ids they named."""
        with Transaction(self.conn) as c:
            ids = [str(row[0]) for row in c.execute("SELECT image_id FROM build_cache")]
            c.execute("DELETE FROM build_cache")
        return ids

    def put(self, key: StepKey, image_id: str) -> None:
        self.conn.execute("INSERT INTO build_cache(key, image_id, created) VALUES (?,?,?) ON CONFLICT(key) DO UPDATE"
                          " SET image_id=excluded.image_id, created=excluded.created",
                          (key.digest(), image_id, rfc3339()))
