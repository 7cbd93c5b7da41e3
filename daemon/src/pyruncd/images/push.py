"""Push: upload an image's blobs (skipping those the registry has, mounting across
repositories where it can), then its manifest, byte for byte as stored so digests hold.
With `all_tags`, every local tag of the repository in turn, as `docker push -a`."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .. import reference
from ..errors import AuthError, NotFound
from ..reference import Reference
from ..registry.client import RegistryClient
from ..registry.credentials import Credentials
from .manifest import sha256
from .progress import Emit, Event, short
from .store import ImageStore


def _header(ref: Reference, emit: Emit) -> None:
    emit(Event("", f"The push refers to repository [{ref.familiar_repository}]"))


def _missing(ref: Reference) -> NotFound:
    return NotFound(f"An image does not exist locally with the tag: {ref.familiar_repository}")


async def push(store: ImageStore, ref: Reference, creds: Credentials | None, insecure: set[str],
               emit: Emit, parallel: int = 3) -> str:
    """Push the image named `ref` to its registry; returns the manifest digest."""
    _header(ref, emit)
    if not store.tagged(ref):
        raise _missing(ref)
    async with RegistryClient(ref.domain, creds, insecure) as reg, _bare_auth_errors():
        await reg.base()  # as docker: a registry we cannot speak to fails the push before its layers show
        return await _push_tag(store, reg, ref, emit, parallel)


async def push_all_tags(store: ImageStore, repository: Reference, creds: Credentials | None, insecure: set[str],
                        emit: Emit, parallel: int = 3) -> list[str]:
    """Push each local tag of `repository`, in docker's (lexical) order; returns their manifest digests."""
    _header(repository, emit)
    names = {reference.parse(t) for rec in store.images() for t in rec.tags}
    refs = sorted((n for n in names if n.repository == repository.repository), key=str)
    if not refs:
        raise _missing(repository)
    async with RegistryClient(repository.domain, creds, insecure) as reg, _bare_auth_errors():
        await reg.base()
        return [await _push_tag(store, reg, ref, emit, parallel) for ref in refs]


@contextlib.asynccontextmanager
async def _bare_auth_errors() -> AsyncIterator[None]:
    """docker's push ends on a refused login with the reason alone ("no basic auth credentials"),
    where its pull names the request."""
    try:
        yield
    except AuthError as e:
        raise AuthError(e.reason) from None


async def _push_tag(store: ImageStore, reg: RegistryClient, ref: Reference, emit: Emit, parallel: int) -> str:
    rec = store.lookup(str(ref))
    data, manifest = store.manifest(rec)
    # repositories on the same registry that already hold this image's blobs
    names = [reference.parse(n, default_tag="") for n in rec.tags + rec.repo_digests]
    sources = sorted({n.path for n in names if n.domain == ref.domain} - {ref.path})
    mount_from = sources[0] if sources else ""
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
