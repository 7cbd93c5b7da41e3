"""Pull: resolve a reference on its registry, fetch what is missing in parallel, unpack, record.

Every document and blob is verified against its digest. The image is recorded only at
the end, so a pull that fails or is cut off leaves no image; what it fetched and unpacked
is collected as soon as it fails (see Leases), or at the next start if the daemon died.
"""

import asyncio

from ..errors import DigestMismatch, InvalidArgument, NotFound
from ..reference import Reference
from ..registry.client import RegistryClient
from ..registry.credentials import Credentials
from ..threads import in_thread
from .manifest import (
    INDEX_TYPES,
    ImageConfig,
    Manifest,
    Platform,
    chain_ids,
    load_json,
    media_type_of,
    parse_index,
    select_platform,
    sha256,
)
from .progress import Emit, Event, short
from .store import ImageRecord, ImageStore


async def _manifest(reg: RegistryClient, repo: str, ref: str, expected: str = "") -> tuple[bytes, str, str]:
    data, declared = await reg.get_manifest(repo, ref)
    digest = sha256(data)
    if expected and digest != expected:
        raise DigestMismatch(f"manifest {expected}: the registry sent content hashing to {digest}")
    return data, media_type_of(load_json(data, f"manifest {ref}"), declared), digest


def _recorded(store: ImageStore, image_id: str) -> bool:
    try:
        store.get(image_id)
    except NotFound:
        return False
    return True


async def pull(store: ImageStore, ref: Reference, platform: Platform, creds: Credentials | None,
               insecure: set[str], emit: Emit, parallel: int = 3) -> ImageRecord:
    content = store.content
    async with RegistryClient(ref.domain, creds, insecure) as reg:
        data, mt, top_digest = await _manifest(reg, ref.path, ref.digest or ref.tag, ref.digest)
        # as docker: once the registry has answered (a pull it refuses prints nothing before the
        # error), and naming the repository's path only ("library/busybox", "me/app")
        emit(Event("", f"{ref.tag or ref.digest}: Pulling from {ref.path}"))
        with store.leases.hold() as lease:
            extra = []
            if mt in INDEX_TYPES:
                content.write(data, top_digest, hold=lease.add)
                extra.append(top_digest)
                child = select_platform(parse_index(data), platform)
                data, mt, _ = await _manifest(reg, ref.path, child.digest, child.digest)
            manifest = Manifest.parse(data, mt)
            manifest_digest = content.write(data, hold=lease.add)

            cfg = manifest.config
            lease.add(cfg.digest)
            if not content.has(cfg.digest):
                with content.writer(cfg.digest, cfg.size) as w:
                    await reg.fetch_blob(ref.path, cfg.digest, w)
                    w.commit()
            config = ImageConfig.parse(content.read(cfg.digest))
            if len(manifest.layers) != len(config.diff_ids):
                raise InvalidArgument(f"image {cfg.digest}: {len(manifest.layers)} layers but the config lists"
                                      f" {len(config.diff_ids)} diff_ids")
            chains = chain_ids(config.diff_ids)
            for layer, chain in zip(manifest.layers, chains, strict=True):
                lease.add(layer.digest)
                lease.add(chain)

            previous = store.tagged(ref)
            sem = asyncio.Semaphore(parallel)

            async def download(i: int) -> None:
                layer = manifest.layers[i]
                sid = short(layer.digest)
                if content.has(layer.digest):
                    return
                async with sem:
                    with content.writer(layer.digest, layer.size) as w:
                        await reg.fetch_blob(ref.path, layer.digest, w,
                                             lambda n: emit(Event(sid, "Downloading", n, layer.size)))
                        emit(Event(sid, "Verifying Checksum"))
                        await in_thread(w.commit)
                emit(Event(sid, "Download complete"))

            present = [content.has(d.digest) and store.snapshots.get(c) is not None
                       for d, c in zip(manifest.layers, chains, strict=True)]
            # as docker: an image already here whole shows no layers at all
            if not (all(present) and _recorded(store, cfg.digest)):
                for layer, done in zip(manifest.layers, present, strict=True):
                    emit(Event(short(layer.digest), "Already exists" if done else "Pulling fs layer"))
            tasks = [asyncio.ensure_future(download(i)) for i in range(len(manifest.layers))]
            try:
                parent = ""
                for i, (task, layer, chain) in enumerate(zip(tasks, manifest.layers, chains, strict=True)):
                    await task
                    if not present[i]:
                        emit(Event(short(layer.digest), "Extracting"))
                    _, made = await store.snapshots.unpack(chain, parent, config.diff_ids[i],
                                                           content.path(layer.digest))
                    if made:
                        emit(Event(short(layer.digest), "Pull complete"))
                    parent = chain
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            rec = store.add(manifest_digest, manifest, config, tags=[ref] if ref.tag else [],
                            repo_digest=ref.with_digest(top_digest), extra_blobs=extra)
    emit(Event("", f"Digest: {top_digest}"))
    up_to_date = previous == rec.id
    name = ref.familiar
    emit(Event("", f"Status: {'Image is up to date' if up_to_date else 'Downloaded newer image'} for {name}"))
    return rec
