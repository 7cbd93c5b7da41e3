"""pyrunc.images.v1.Images over the image libraries."""

import asyncio
import logging
import os
import tempfile
from pathlib import Path

from pyrunc_proto.pyrunc.images.v1 import images_pb2 as pb
from pyrunc_proto.pyrunc.images.v1 import images_pb2_grpc as pb_grpc

from .. import reference
from ..containers.store import Store as ContainerStore
from ..daemon import Daemon
from ..errors import Conflict, InvalidArgument
from ..images import archive
from ..images.manifest import host_platform, parse_platform
from ..images.pull import Event, pull
from ..images.push import push
from ..images.store import ImageRecord
from ..registry.auth import Credentials
from ..registry.client import RegistryClient
from ..threads import in_thread
from .errors import rpc

log = logging.getLogger("pyruncd.images")
_CHUNK = 1 << 20


def image_pb(rec: ImageRecord, config_json: bytes) -> pb.Image:
    return pb.Image(
        id=rec.id, repo_tags=[reference.familiar(t) for t in rec.tags],
        repo_digests=[reference.familiar(d) for d in rec.repo_digests], created=rec.created, size=rec.size,
        os=rec.os, architecture=rec.architecture, variant=rec.variant, manifest_digest=rec.manifest_digest,
        manifest_media_type=rec.manifest_media_type, config_json=config_json,
        layers=[pb.Layer(digest=x.digest, diff_id=x.diff_id, media_type=x.media_type, size=x.size)
                for x in rec.layers])


def _creds(auths, host: str) -> Credentials | None:
    """The credentials the client holds for `host` (docker.io also under its legacy names)."""
    names = [host] + (["index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]
                      if host == "docker.io" else [])
    for n in names:
        if n in auths:
            a = auths[n]
            return Credentials(a.username, a.password, a.identity_token)
    return None


def _progress(e: Event) -> pb.Progress:
    return pb.Progress(id=e.id, status=e.status, current=e.current, total=e.total)


async def _stream_events(run) -> "asyncio.AsyncIterator[pb.Progress]":
    """Run `run(emit)` as a task and yield its events; cancelling the stream cancels it."""
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.ensure_future(run(queue.put_nowait))
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while (ev := await queue.get()) is not None:
            yield _progress(ev)
        await task  # raises what the operation raised
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class ImagesService(pb_grpc.ImagesServicer):
    def __init__(self, daemon: Daemon):
        self.d = daemon
        self.store = daemon.images

    @property
    def insecure(self) -> set[str]:
        return set(self.d.config.insecure_registries)

    def _image(self, rec: ImageRecord) -> pb.Image:
        return image_pb(rec, self.d.content.read(rec.id))

    def _refuse_in_use(self, text: str) -> None:
        """As docker: removing the last name of (or the id of) an image a container uses needs -f."""
        image_id, by_name = self.store.resolve_name(text)
        users = ContainerStore(self.d.conn).using_image(image_id)
        rec = self.store.get(image_id)
        if users and (by_name is None or len(rec.tags) + len(rec.repo_digests) <= 1):
            raise Conflict(f'conflict: unable to remove repository reference "{text}" (must force) - container '
                           f"{users[0][:12]} is using its referenced image {image_id.removeprefix('sha256:')[:12]}")

    @rpc
    async def List(self, request, context):
        wanted = [reference.parse(r, default_tag="") for r in request.references]
        out = []
        for rec in self.store.images():
            if wanted:
                # as docker: only the rows (tags) of the repositories asked for
                rec.tags = [t for t in rec.tags if any(
                    (n := reference.parse(t)).repository == w.repository and (not w.tag or n.tag == w.tag)
                    for w in wanted)]
                if not rec.tags:
                    continue
            out.append(self._image(rec))
        return pb.ListImagesResponse(images=out)

    @rpc
    async def Get(self, request, context):
        return self._image(self.store.lookup(request.reference))

    @rpc
    async def History(self, request, context):
        rows = self.store.history(request.reference)
        return pb.HistoryResponse(entries=[
            pb.HistoryEntry(id=r.id, created=r.created, created_by=r.created_by, size=r.size, comment=r.comment,
                            tags=[reference.familiar(t) for t in r.tags]) for r in rows])

    @rpc
    async def Tag(self, request, context):
        self.store.tag(request.source, request.target)
        return pb.TagResponse()

    @rpc
    async def Remove(self, request, context):
        if not request.force:
            self._refuse_in_use(request.reference)
        res = self.store.remove(request.reference, force=request.force, prune=not request.no_prune)
        log.info("image removed", extra={"reference": request.reference, "deleted": res.deleted})
        return pb.RemoveResponse(untagged=[reference.familiar(n) for n in res.untagged], deleted=res.deleted)

    @rpc
    async def Prune(self, request, context):
        users = ContainerStore(self.d.conn)
        res = self.store.prune(all=request.all, in_use={r.id for r in self.store.images() if users.using_image(r.id)})
        return pb.PruneResponse(untagged=[reference.familiar(n) for n in res.untagged], deleted=res.deleted,
                                space_reclaimed=res.space_reclaimed)

    @rpc
    async def Pull(self, request, context):
        ref = reference.parse(request.reference)
        plat = parse_platform(request.platform) if request.platform else host_platform()
        creds = _creds(request.auths, ref.domain)
        log.info("pull", extra={"reference": str(ref), "platform": str(plat)})
        async for p in _stream_events(lambda emit: pull(self.store, ref, plat, creds, self.insecure, emit)):
            yield p

    @rpc
    async def Push(self, request, context):
        ref = reference.parse(request.reference)
        if ref.digest:
            raise InvalidArgument(f"cannot push a digest reference: {request.reference!r}")
        creds = _creds(request.auths, ref.domain)
        log.info("push", extra={"reference": str(ref)})
        async for p in _stream_events(lambda emit: push(self.store, ref, creds, self.insecure, emit)):
            yield p

    @rpc
    async def Load(self, request_iterator, context):
        fd, spool = tempfile.mkstemp(dir=self.d.tmp, prefix="load-", suffix=".tar")
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in request_iterator:
                    f.write(chunk.data)
            if os.path.getsize(spool) == 0:
                raise InvalidArgument("load: empty input: give a tar with -i or on standard input")
            loaded = []
            with self.store.leases.hold() as lease:
                staged = await in_thread(archive.stage, Path(spool), self.d.content, host_platform(), lease)
                for s in staged:
                    await self.store.unpack(s.manifest, s.config, lease)
                    rec = self.store.add(s.manifest_digest, s.manifest, s.config, tags=s.tags,
                                         extra_blobs=s.extra_blobs)
                    loaded += [f"Loaded image: {t.familiar}" for t in s.tags] or [f"Loaded image ID: {rec.id}"]
            log.info("loaded", extra={"images": loaded})
            return pb.LoadResponse(loaded=loaded)
        finally:
            os.unlink(spool)

    @rpc
    async def Save(self, request, context):
        if not request.references:
            raise InvalidArgument("save: give at least one image")
        exports: dict[str, archive.Export] = {}
        for text in request.references:
            image_id, by_name = self.store.resolve_name(text)
            rec = self.store.get(image_id)
            data, manifest = self.store.manifest(rec)
            exp = exports.setdefault(image_id, archive.Export(rec.manifest_digest, data, manifest,
                                                              self.store.config(rec), []))
            if by_name is not None and by_name.tag and by_name not in exp.names:
                exp.names.append(by_name)
        fd, spool = tempfile.mkstemp(dir=self.d.tmp, prefix="save-", suffix=".tar")
        os.close(fd)
        try:
            with self.store.leases.hold() as lease:
                for exp in exports.values():
                    for d in [exp.manifest_digest, exp.manifest.config.digest, *(x.digest for x in exp.manifest.layers)]:
                        lease.add(d)
                oci = request.format == pb.SaveRequest.OCI_ARCHIVE
                await in_thread(archive.save, list(exports.values()), self.d.content, Path(spool), oci,
                                        self.d.tmp)
            with open(spool, "rb") as f:
                while chunk := await asyncio.to_thread(f.read, _CHUNK):
                    yield pb.SaveResponse(data=chunk)
        finally:
            os.unlink(spool)

    @rpc
    async def Login(self, request, context):
        server = request.server.removeprefix("https://").removeprefix("http://").rstrip("/") or "docker.io"
        if server.endswith("/v1") or server in ("index.docker.io", "registry-1.docker.io"):
            server = "docker.io"
        a = request.auth
        if not a.username or not (a.password or a.identity_token):
            raise InvalidArgument("login: username and password are required")
        async with RegistryClient(server, Credentials(a.username, a.password, a.identity_token),
                                  self.insecure) as reg:
            await reg.ping()
        log.info("login", extra={"server": server, "username": a.username})
        return pb.LoginResponse(status="Login Succeeded")
