"""Image records in meta.db: names, layers, the blobs they keep alive, and garbage collection.

An image is identified by its config digest, as docker does. A record is written in one
transaction after every blob and snapshot it names exists, so a failed pull or load
leaves no image behind; what it left in the content store is collected as garbage.
"""

import collections
import contextlib
import datetime
import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from .. import reference
from ..content import ContentStore
from ..db import Transaction
from ..errors import Conflict, InvalidArgument, NotFound
from ..reference import Reference
from ..snapshots.store import Snapshotter
from .manifest import ImageConfig, Manifest, chain_ids

log = logging.getLogger("pyruncd.images")

# an image id -> the ids of the containers created from it: the containers store's, injected where an
# operation needs it (images does not import containers)
UsingImage = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class LayerRecord:
    digest: str
    diff_id: str
    chain_id: str
    media_type: str
    size: int


@dataclass
class ImageRecord:
    id: str
    manifest_digest: str
    manifest_media_type: str
    created: str
    os: str
    architecture: str
    variant: str
    added_at: str
    parent: str = ""  # docker's local "Parent": the image a build step or a commit started from
    layers: list[LayerRecord] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)          # fully qualified
    repo_digests: list[str] = field(default_factory=list)  # fully qualified
    size: int = 0

    @property
    def top_chain_id(self) -> str:
        return self.layers[-1].chain_id if self.layers else ""


@dataclass
class HistoryRow:
    id: str  # the image id on the top row, "<missing>" below, as docker shows
    created: str
    created_by: str
    size: int
    comment: str
    tags: list[str] = field(default_factory=list)


@dataclass
class RemoveResult:
    untagged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    space_reclaimed: int = 0


class Leases:
    """Digests and chain ids that operations in flight need: garbage collection spares them.

    An operation that fails or is cut off (a refused load, a broken or cancelled pull) releases its
    lease and then calls `on_failure`, which collects what it left behind; other operations' leases
    keep what they hold."""

    def __init__(self, on_failure: Callable[[], object] | None = None) -> None:
        self._held: collections.Counter[str] = collections.Counter()
        self._on_failure = on_failure

    @contextlib.contextmanager
    def hold(self) -> Iterator["Lease"]:
        lease = Lease(self._held)
        try:
            yield lease
        except BaseException:
            lease.release()
            if self._on_failure is not None:
                self._on_failure()
            raise
        finally:
            lease.release()

    def __contains__(self, key: str) -> bool:
        return self._held[key] > 0


class Lease:
    """One operation's keys, added as it learns them."""

    def __init__(self, counter: collections.Counter[str]):
        self._counter = counter
        self.keys: set[str] = set()

    def add(self, key: str) -> None:
        if key not in self.keys:
            self.keys.add(key)
            self._counter[key] += 1

    def release(self) -> None:
        for k in self.keys:
            self._counter[k] -= 1
            if self._counter[k] <= 0:
                del self._counter[k]
        self.keys.clear()


class ImageStore:
    def __init__(self, conn: sqlite3.Connection, content: ContentStore, snapshots: Snapshotter):
        self.conn = conn
        self.content = content
        self.snapshots = snapshots
        self.leases = Leases(on_failure=self.collect_garbage)

    # ---- writing

    def add(self, manifest_digest: str, manifest: Manifest, config: ImageConfig, *,
            tags: Sequence[Reference] = (), repo_digest: Reference | None = None,
            extra_blobs: Sequence[str] = (), parent: str = "") -> ImageRecord:
        """Record an image whose blobs and snapshots are all present; move `tags` onto it. `parent`: the
        image it was made from (build, commit); the same image recorded again keeps the parent it had."""
        image_id = manifest.config.digest
        plat = config.platform
        now = datetime.datetime.now(datetime.UTC).isoformat()
        chains = chain_ids(config.diff_ids)
        with Transaction(self.conn) as c:
            c.execute(
                "INSERT INTO images(id, manifest_digest, manifest_media_type, created, os, architecture, variant, added_at,"
                " parent) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " manifest_digest=excluded.manifest_digest, manifest_media_type=excluded.manifest_media_type,"
                " parent=CASE WHEN images.parent='' THEN excluded.parent ELSE images.parent END",
                (image_id, manifest_digest, manifest.media_type, config.created, plat.os, plat.architecture,
                 plat.variant, now, parent))
            c.execute("DELETE FROM image_layers WHERE image_id=?", (image_id,))
            c.executemany(
                "INSERT INTO image_layers(image_id, idx, digest, diff_id, chain_id, media_type, size) VALUES (?,?,?,?,?,?,?)",
                [(image_id, i, d.digest, diff, chain, d.media_type, d.size)
                 for i, (d, diff, chain) in enumerate(zip(manifest.layers, config.diff_ids, chains, strict=True))])
            blobs = {manifest_digest, image_id, *extra_blobs, *(d.digest for d in manifest.layers)}
            c.executemany("INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES (?,?)",
                          [(image_id, b) for b in blobs])
            for t in tags:
                c.execute("INSERT INTO tags(name, image_id) VALUES (?,?) ON CONFLICT(name) DO UPDATE SET"
                          " image_id=excluded.image_id", (str(t), image_id))
            if repo_digest is not None:
                c.execute("INSERT INTO repo_digests(name, image_id) VALUES (?,?) ON CONFLICT(name) DO UPDATE SET"
                          " image_id=excluded.image_id", (str(repo_digest), image_id))
        return self.get(image_id)

    def add_repo_digest(self, image_id: str, ref: Reference) -> None:
        with Transaction(self.conn) as c:
            c.execute("INSERT INTO repo_digests(name, image_id) VALUES (?,?) ON CONFLICT(name) DO UPDATE SET"
                      " image_id=excluded.image_id", (str(ref), image_id))

    def tag(self, source: str, target: str) -> Reference:
        image_id = self.resolve(source)
        ref = reference.parse(target)
        if ref.digest:
            raise InvalidArgument(f"refusing to create a tag with a digest reference: {target!r}")
        with Transaction(self.conn) as c:
            c.execute("INSERT INTO tags(name, image_id) VALUES (?,?) ON CONFLICT(name) DO UPDATE SET"
                      " image_id=excluded.image_id", (str(ref), image_id))
        return ref

    # ---- reading

    def resolve(self, text: str) -> str:
        """Image id of a name[:tag], name@digest, full id or unique id prefix; NotFound names `text`."""
        return self.resolve_name(text)[0]

    def resolve_name(self, text: str) -> tuple[str, Reference | None]:
        """The image id, and the name it was found by (None when found by id)."""
        if reference.looks_like_id(text):
            image_id = "sha256:" + text.removeprefix("sha256:")
            if self.conn.execute("SELECT 1 FROM images WHERE id=?", (image_id,)).fetchone():
                return image_id, None
        try:
            ref = reference.parse(text)
        except InvalidArgument:
            ref = None
        if ref is not None and (tagged := self.tagged(ref)):
            return tagged, ref
        prefix = text.removeprefix("sha256:")
        if prefix and all(ch in "0123456789abcdef" for ch in prefix):
            rows = self.conn.execute("SELECT id FROM images WHERE id LIKE ?", (f"sha256:{prefix}%",)).fetchall()
            if len(rows) == 1:
                return rows[0][0], None
            if len(rows) > 1:
                raise Conflict(f"image id prefix {text!r} is ambiguous: {len(rows)} images match")
        # docker's words name the reference as it would look it up: busybox is busybox:latest
        raise NotFound(f"No such image: {ref.familiar if ref is not None else text}")

    def tagged(self, ref: Reference) -> str | None:
        """The image id `ref` names exactly (tag or repo digest), if any."""
        table = "repo_digests" if ref.digest else "tags"
        row = self.conn.execute(f"SELECT image_id FROM {table} WHERE name=?", (str(ref),)).fetchone()
        return row[0] if row else None

    def get(self, image_id: str) -> ImageRecord:
        row = self.conn.execute("SELECT * FROM images WHERE id=?", (image_id,)).fetchone()
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        rec = ImageRecord(**{k: row[k] for k in row.keys()})
        rec.layers = [LayerRecord(r["digest"], r["diff_id"], r["chain_id"], r["media_type"], r["size"])
                      for r in self.conn.execute("SELECT * FROM image_layers WHERE image_id=? ORDER BY idx", (image_id,))]
        rec.tags = [r[0] for r in self.conn.execute("SELECT name FROM tags WHERE image_id=? ORDER BY name", (image_id,))]
        rec.repo_digests = [r[0] for r in self.conn.execute(
            "SELECT name FROM repo_digests WHERE image_id=? ORDER BY name", (image_id,))]
        rec.size = self.conn.execute(
            "SELECT COALESCE(SUM(s.size), 0) FROM image_layers l JOIN snapshots s ON s.chain_id=l.chain_id"
            " WHERE l.image_id=?", (image_id,)).fetchone()[0]
        return rec

    def lookup(self, text: str) -> ImageRecord:
        return self.get(self.resolve(text))

    def images(self) -> list[ImageRecord]:
        return [self.get(r[0]) for r in self.conn.execute("SELECT id FROM images ORDER BY added_at DESC")]

    def config(self, rec: ImageRecord) -> ImageConfig:
        return ImageConfig.parse(self.content.read(rec.id))

    def manifest(self, rec: ImageRecord) -> tuple[bytes, Manifest]:
        data = self.content.read(rec.manifest_digest)
        return data, Manifest.parse(data, rec.manifest_media_type)

    def history(self, text: str) -> list[HistoryRow]:
        """docker history rows, newest first; empty_layer entries take no layer. As docker, the rows from the
        top are given the ids (and tags) of the image, its parent, the parent's parent..., while there is one:
        a build's steps show their images, the layers of a pulled image `<missing>`."""
        rec = self.lookup(text)
        config = self.config(rec)
        layer_sizes = iter([s.size if (s := self.snapshots.get(x.chain_id)) else 0 for x in rec.layers])
        rows = []
        for h in config.history or [{"created": config.created} for _ in rec.layers]:
            size = 0 if h.get("empty_layer") else next(layer_sizes, 0)
            rows.append(HistoryRow("<missing>", h.get("created", ""), h.get("created_by", ""), size,
                                   h.get("comment", "")))
        rows.reverse()
        image: ImageRecord | None = rec
        for row in rows:
            if image is None:
                break
            row.id, row.tags = image.id, image.tags
            try:
                image = self.get(image.parent) if image.parent else None
            except NotFound:
                image = None
        return rows

    def children(self, image_id: str) -> list[str]:
        """The images whose parent this one is."""
        return [r[0] for r in self.conn.execute("SELECT id FROM images WHERE parent=? ORDER BY id", (image_id,))]

    def parents(self) -> set[str]:
        """Every image that has a child."""
        return {r[0] for r in self.conn.execute("SELECT DISTINCT parent FROM images WHERE parent != ''")}

    def parent_links(self) -> list[tuple[str, str]]:
        """(child, parent) for every image that has a parent."""
        return [(r[0], r[1]) for r in self.conn.execute("SELECT id, parent FROM images WHERE parent != ''")]

    def count(self) -> int:
        n: int = self.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        return n

    # ---- removing

    def untag(self, name: str) -> None:
        """Drop one fully qualified tag or repo digest."""
        with Transaction(self.conn) as c:
            for table in ("tags", "repo_digests"):
                c.execute(f"DELETE FROM {table} WHERE name=?", (name,))

    def delete(self, image_id: str) -> None:
        """Drop the image's record (names included); its blobs and snapshots wait for gc()."""
        with Transaction(self.conn) as c:
            c.execute("DELETE FROM images WHERE id=?", (image_id,))

    def collect_garbage(self) -> int:
        """gc() for when nothing asked for it (at start, after a failed load or pull): its own errors are
        logged, never raised over the error that made the garbage."""
        try:
            freed = self.gc()
        except (OSError, sqlite3.Error) as e:
            log.warning("garbage collection failed", extra={"error": str(e)})
            return 0
        if freed:
            log.info("garbage collected", extra={"bytes": freed})
        return freed

    def gc(self) -> int:
        """Delete blobs and snapshots no image references and no operation in flight holds."""
        freed = 0
        used_blobs = {r[0] for r in self.conn.execute("SELECT DISTINCT digest FROM image_blobs")}
        for digest in list(self.content.digests()):
            if digest not in used_blobs and digest not in self.leases:
                freed += self.content.delete(digest)
        used_chains = {r[0] for r in self.conn.execute("SELECT DISTINCT chain_id FROM image_layers")}
        # children first, so a parent's fs is never removed under a child that still names it
        for snap in reversed(self.snapshots.all()):
            if snap.chain_id not in used_chains and snap.chain_id not in self.leases:
                freed += self.snapshots.remove(snap.chain_id)
        return freed

    # ---- unpacking

    async def unpack(self, manifest: Manifest, config: ImageConfig, lease: "Lease") -> None:
        """Make the snapshot of every layer, bottom up."""
        if len(manifest.layers) != len(config.diff_ids):
            raise InvalidArgument(f"image {manifest.config.digest}: {len(manifest.layers)} layers but the config"
                                  f" lists {len(config.diff_ids)} diff_ids")
        parent = ""
        for layer, diff_id, chain in zip(manifest.layers, config.diff_ids, chain_ids(config.diff_ids), strict=True):
            lease.add(chain)
            await self.snapshots.unpack(chain, parent, diff_id, self.content.path(layer.digest))
            parent = chain
