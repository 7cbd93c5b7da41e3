"""Content-addressed blob store: <root>/blobs/sha256/<hex>, written through a verifying writer.

A blob is visible only once complete and verified: writers fill a temp file under
<root>/ingest and rename it into place, so a crash or a mismatch leaves no blob behind.
"""

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from .errors import DigestMismatch, NotFound
from .reference import validate_digest


class BlobWriter:
    def __init__(self, store: "ContentStore", expected: str | None, size: int | None,
                 hold: Callable[[str], None] | None = None):
        self._store = store
        self._hold = hold  # called with the digest before the blob is visible: no collection can race it
        self.expected = expected
        self.expected_size = size
        fd, self._tmp = tempfile.mkstemp(dir=store.ingest_dir, prefix="blob-")
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._hash = hashlib.sha256()
        self.written = 0
        self.digest = ""

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.written += len(data)

    def commit(self) -> str:
        """Verify size and digest, then publish the blob; returns its digest."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        digest = "sha256:" + self._hash.hexdigest()
        try:
            if self.expected_size is not None and self.written != self.expected_size:
                raise DigestMismatch(
                    f"blob {self.expected or digest}: size {self.written} does not match the announced {self.expected_size}")
            if self.expected and digest != self.expected:
                raise DigestMismatch(f"blob {self.expected}: content hashes to {digest}")
            os.chmod(self._tmp, 0o644)
            if self._hold is not None:
                self._hold(digest)
            os.rename(self._tmp, self._store.path(digest))
        except BaseException:
            self.abort()
            raise
        self.digest = digest
        return digest

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None or not self.digest:
            self.abort()


class ContentStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"
        self.ingest_dir = self.root / "ingest"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.ingest_dir.mkdir(parents=True, exist_ok=True)
        # Leftovers of writers killed mid-way (daemon crash) are never valid blobs.
        for leftover in self.ingest_dir.iterdir():
            leftover.unlink(missing_ok=True)

    def path(self, digest: str) -> Path:
        validate_digest(digest)
        return self.blob_dir / digest.split(":", 1)[1]

    def has(self, digest: str) -> bool:
        return self.path(digest).exists()

    def size(self, digest: str) -> int:
        try:
            return self.path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in the content store") from None

    def read(self, digest: str) -> bytes:
        try:
            return self.path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in the content store") from None

    def writer(self, expected: str | None = None, size: int | None = None,
               hold: Callable[[str], None] | None = None) -> BlobWriter:
        """`hold(digest)` runs before the blob appears: a lease's add, so garbage collection spares it."""
        if expected is not None:
            validate_digest(expected)
        return BlobWriter(self, expected, size, hold)

    def write(self, data: bytes, expected: str | None = None, hold: Callable[[str], None] | None = None) -> str:
        with self.writer(expected, len(data) if expected else None, hold) as w:
            w.write(data)
            return w.commit()

    def delete(self, digest: str) -> int:
        """Remove a blob; returns the bytes freed (0 if it was absent)."""
        p = self.path(digest)
        try:
            size = p.stat().st_size
            p.unlink()
            return size
        except FileNotFoundError:
            return 0

    def digests(self) -> Iterator[str]:
        for p in self.blob_dir.iterdir():
            yield "sha256:" + p.name
