"""Push: upload an image's blobs (skipping those the registry has, mounting across
repositories where it can), then its manifest, byte for byte as stored so digests hold."""

import asyncio

from .. import reference
from ..reference import Reference
from ..registry.auth import Credentials
from ..registry.client import RegistryClient
from .manifest import sha256
from .pull import Emit, Event, short
from .store import ImageStore


async def push(store: ImageStore, ref: Reference, creds: Credentials | None, insecure: set[str],
               emit: Emit, parallel: int = 3) -> str:
    """Push the image named `ref` to its registry; returns the manifest digest."""
    rec = store.lookup(str(ref))
    data, manifest = store.manifest(rec)
    emit(Event("", f"The push refers to repository [{ref.familiar_repository}]"))
    # repositories on the same registry that already hold this image's blobs
    names = [reference.parse(n, default_tag="") for n in rec.tags + rec.repo_digests]
    sources = sorted({n.path for n in names if n.domain == ref.domain} - {ref.path})
    mount_from = sources[0] if sources else ""
    async with RegistryClient(ref.domain, creds, insecure) as reg:
        sem = asyncio.Semaphore(parallel)

        async def upload(digest: str, size: int, show: bool) -> None:
            sid = short(digest)
            async with sem:
                if await reg.has_blob(ref.path, digest):
                    if show:
                        emit(Event(sid, "Layer already exists"))
                    return
                mounted = await reg.push_blob(
                    ref.path, digest, store.content.path(digest), size, mount_from,
                    (lambda n: emit(Event(sid, "Pushing", n, size))) if show else None)
            if show:
                emit(Event(sid, f"Mounted from {mount_from}" if mounted else "Pushed"))

        layers = list(reversed(manifest.layers))  # docker lists the top layer first
        for layer in layers:
            emit(Event(short(layer.digest), "Preparing"))
        tasks = [asyncio.ensure_future(upload(d.digest, d.size, True)) for d in layers]
        tasks.append(asyncio.ensure_future(upload(manifest.config.digest, manifest.config.size, False)))
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await reg.put_manifest(ref.path, ref.tag or ref.digest, data, rec.manifest_media_type)
    digest = sha256(data)
    store.add_repo_digest(rec.id, ref.with_digest(digest))
    emit(Event("", f"{ref.tag}: digest: {digest} size: {len(data)}"))
    return digest
