"""SQLite metadata (meta.db): one schema, grown by numbered migrations.

PRAGMA user_version holds how many migrations ran; each runs in its own
transaction, so a database is always at one known version.
"""

import contextlib
import os
import sqlite3
from pathlib import Path
from types import TracebackType

from .fsutil import PRIVATE_FILE

MIGRATIONS: list[str] = [
    # 1: images, their names, their blobs and the layer snapshots they use
    """
    CREATE TABLE images (
        id TEXT PRIMARY KEY,                 -- config digest
        manifest_digest TEXT NOT NULL,
        manifest_media_type TEXT NOT NULL,
        created TEXT NOT NULL DEFAULT '',
        os TEXT NOT NULL DEFAULT '',
        architecture TEXT NOT NULL DEFAULT '',
        variant TEXT NOT NULL DEFAULT '',
        added_at TEXT NOT NULL
    );
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        digest TEXT NOT NULL,
        diff_id TEXT NOT NULL,
        chain_id TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (image_id, idx)
    );
    CREATE INDEX image_layers_chain ON image_layers(chain_id);
    -- every blob an image keeps alive: manifest, config, layers, and the index it came from
    CREATE TABLE image_blobs (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        digest TEXT NOT NULL,
        PRIMARY KEY (image_id, digest)
    );
    CREATE INDEX image_blobs_digest ON image_blobs(digest);
    CREATE TABLE tags (
        name TEXT PRIMARY KEY,               -- fully qualified "domain/path:tag"
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE TABLE repo_digests (
        name TEXT PRIMARY KEY,               -- "domain/path@sha256:..."
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
    );
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT, -- directory name: short, for overlay's option length
        chain_id TEXT NOT NULL UNIQUE,
        parent TEXT NOT NULL DEFAULT '',      -- parent chain id
        diff_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # 2: containers; `config` is the JSON of what was asked and resolved at create
    """
    CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image TEXT NOT NULL,
        image_id TEXT NOT NULL,
        created TEXT NOT NULL,
        config TEXT NOT NULL,
        status TEXT NOT NULL,
        pid INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER NOT NULL DEFAULT 0,
        started_at TEXT NOT NULL DEFAULT '',
        finished_at TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        shim_address TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX containers_image ON containers(image_id);
    """,
    # volumes, and which containers use each (a volume in use cannot be removed)
    """
    CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        labels TEXT NOT NULL DEFAULT '{}',   -- JSON object
        anonymous INTEGER NOT NULL DEFAULT 0 -- named by pyruncd: rm -v and run --rm remove it
    );
    CREATE TABLE volume_users (
        volume TEXT NOT NULL REFERENCES volumes(name),
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        PRIMARY KEY (volume, container_id)
    );
    CREATE INDEX volume_users_container ON volume_users(container_id);
    """,
    # networks: bridge networks, each container's address lease on them, and its published ports
    """
    CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,                -- bridge, host or null
        subnet TEXT NOT NULL DEFAULT '',
        gateway TEXT NOT NULL DEFAULT '',
        bridge TEXT NOT NULL DEFAULT '',     -- the Linux bridge
        internal INTEGER NOT NULL DEFAULT 0,
        labels TEXT NOT NULL DEFAULT '{}',
        created TEXT NOT NULL
    );
    CREATE TABLE endpoints (
        container_id TEXT NOT NULL,
        network_id TEXT NOT NULL REFERENCES networks(id),
        ip TEXT NOT NULL,
        mac TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        aliases TEXT NOT NULL DEFAULT '[]',
        idx INTEGER NOT NULL DEFAULT 0,      -- eth<idx> in the container
        veth TEXT NOT NULL DEFAULT '',       -- the host end while attached
        ip_asked TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (container_id, network_id),
        UNIQUE (network_id, ip)
    );
    CREATE TABLE port_bindings (
        container_id TEXT NOT NULL,
        proto TEXT NOT NULL,
        container_port INTEGER NOT NULL,
        host_ip TEXT NOT NULL,
        host_port INTEGER NOT NULL,
        PRIMARY KEY (container_id, proto, container_port, host_ip, host_port)
    );
    """,
    # 5: the build cache: a step's key (its parent image, instruction, build args, sources) -> the image it made
    """
    CREATE TABLE build_cache (
        key TEXT PRIMARY KEY,
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        created TEXT NOT NULL
    );
    CREATE INDEX build_cache_image ON build_cache(image_id);
    """,
    # 6: a network's driver options (`network create -o`), as given
    """
    ALTER TABLE networks ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
    """,
    # 7: an image's local parent, as docker's: the image a build step or a commit started from ("" for a
    # pulled, loaded or imported one); an image with children is not deleted, so a parent is always there
    """
    ALTER TABLE images ADD COLUMN parent TEXT NOT NULL DEFAULT '';
    CREATE INDEX images_parent ON images(parent);
    """,
]


def connect(path: Path) -> sqlite3.Connection:
    _make_private(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    migrate(conn)
    return conn


def _make_private(path: Path) -> None:
    """meta.db holds every container's config, -e values included: root only. SQLite gives the -wal and
    -shm files it creates the database file's mode, so the file is made (or narrowed) first; the -wal and
    -shm an older pyruncd left wider are narrowed too."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(p, PRIVATE_FILE)


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations not yet applied; returns the schema version reached."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(f"meta.db schema version {version} is newer than this pyruncd ({len(MIGRATIONS)})")
    for n in range(version, len(MIGRATIONS)):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for stmt in MIGRATIONS[n].split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version={n + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class Transaction:
    """`with Transaction(conn):` runs the block in BEGIN IMMEDIATE ... COMMIT/ROLLBACK."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
