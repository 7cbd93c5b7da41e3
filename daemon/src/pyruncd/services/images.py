"""pyrunc.images.v1.Images over the image libraries: proto <-> records, errors -> statuses.

The calls that move images in or out import their libraries at their first call, so an idle daemon does
not hold them (issue #17): pull, push and login the registry client and httpx (~4 MB with its imports),
load, save and import the archive code, import's --change the Dockerfile parser (committing)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from pyrunc_proto.pyrunc.images.v1 import images_pb2 as pb
from pyrunc_proto.pyrunc.images.v1 import images_pb2_grpc as pb_grpc

from .. import reference
from ..daemon import Daemon
from ..errors import InvalidArgument, NotFound
from ..images.listing import list_images
from ..images.manifest import host_platform, parse_platform
from ..images.progress import Emit, Event
from ..images.prune import prune
from ..images.remove import remove
from ..images.store import ImageRecord
from ..registry.credentials import Credentials, credentials_for
from .errors import Context, rpc

log = logging.getLogger("pyruncd.images")


def image_pb(rec: ImageRecord, config_json: bytes) -> pb.Image:
    return pb.Image(
        id=rec.id, repo_tags=[reference.familiar(t) for t in rec.tags],
        repo_digests=[reference.familiar(d) for d in rec.repo_digests], created=rec.created, size=rec.size,
        os=rec.os, architecture=rec.architecture, variant=rec.variant, manifest_digest=rec.manifest_digest,
        manifest_media_type=rec.manifest_media_type, config_json=config_json, parent=rec.parent,
        layers=[pb.Layer(digest=x.digest, diff_id=x.diff_id, media_type=x.media_type, size=x.size)
                for x in rec.layers])


def _credentials(auth: pb.RegistryAuth) -> Credentials:
    return Credentials(auth.username, auth.password, auth.identity_token)


def _creds(auths: Mapping[str, pb.RegistryAuth], host: str) -> Credentials | None:
    return credentials_for({name: _credentials(a) for name, a in auths.items()}, host)


async def _stream_events(run: Callable[[Emit], Awaitable[object]]) -> AsyncIterator[pb.Progress]:
    """Run `run(emit)` as a task and yield its events; cancelling the stream cancels it."""
    queue: asyncio.Queue[Event | None] = asyncio.Queue()
    task = asyncio.ensure_future(run(queue.put_nowait))
    task.add_done_callback(lambda _: queue.put_nowait(None))
    try:
        while (ev := await queue.get()) is not None:
            yield pb.Progress(id=ev.id, status=ev.status, current=ev.current, total=ev.total)
        await task  # raises what the operation raised
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


class ImagesService(pb_grpc.ImagesServicer):
    def __init__(self, daemon: Daemon, using_image: Callable[[str], list[str]]):
        """`using_image`: the ids of the containers made from an image (the containers' service)."""
        self.d = daemon
        self.store = daemon.images
        self._using_image = using_image

    @property
    def insecure(self) -> set[str]:
        return set(self.d.config.insecure_registries)

    def _image(self, rec: ImageRecord) -> pb.Image:
        return image_pb(rec, self.d.content.read(rec.id))

    @rpc
    async def List(self, request: pb.ListImagesRequest, context: Context) -> pb.ListImagesResponse:
        images = list_images(self.store, request.references, all=request.all)
        return pb.ListImagesResponse(images=[self._image(r) for r in images])

    @rpc
    async def Get(self, request: pb.GetImageRequest, context: Context) -> pb.Image:
        return self._image(self.store.lookup(request.reference))

    @rpc
    async def History(self, request: pb.GetImageRequest, context: Context) -> pb.HistoryResponse:
        rows = self.store.history(request.reference)
        return pb.HistoryResponse(entries=[
            pb.HistoryEntry(id=r.id, created=r.created, created_by=r.created_by, size=r.size, comment=r.comment,
                            tags=[reference.familiar(t) for t in r.tags]) for r in rows])

    @rpc
    async def Tag(self, request: pb.TagRequest, context: Context) -> pb.TagResponse:
        target = self.store.tag(request.source, request.target)
        self._event("tag", self.store.resolve(request.source), target.familiar)
        return pb.TagResponse()

    def _event(self, action: str, actor: str, name: str = "") -> None:
        """The daemon's event stream, as dockerd's image events: name the reference or the id."""
        self.d.events.emit("image", action, actor, name=name or actor)

    @rpc
    async def Remove(self, request: pb.RemoveRequest, context: Context) -> pb.RemoveResponse:
        try:
            image_id = self.store.resolve(request.reference)
        except NotFound:
            image_id = ""  # remove says so in its words
        res = remove(self.store, request.reference, force=request.force, prune=not request.no_prune,
                     using_image=self._using_image)
        for _ in res.untagged:
            self._event("untag", image_id)
        for deleted in res.deleted:
            self._event("delete", deleted)
        return pb.RemoveResponse(untagged=[reference.familiar(n) for n in res.untagged], deleted=res.deleted)

    @rpc
    async def Prune(self, request: pb.PruneRequest, context: Context) -> pb.PruneResponse:
        res = prune(self.store, all=request.all, using_image=self._using_image)
        for deleted in res.deleted:
            self._event("delete", deleted)
        self.d.events.emit("image", "prune", "", reclaimed=str(res.space_reclaimed))
        return pb.PruneResponse(untagged=[reference.familiar(n) for n in res.untagged], deleted=res.deleted,
                                space_reclaimed=res.space_reclaimed)

    @rpc
    async def Pull(self, request: pb.PullRequest, context: Context) -> AsyncIterator[pb.Progress]:
        from ..images.pull import pull

        ref = reference.parse(request.reference)
        plat = parse_platform(request.platform) if request.platform else host_platform()
        creds = _creds(request.auths, ref.domain)
        log.info("pull", extra={"reference": str(ref), "platform": str(plat)})
        async for p in _stream_events(lambda emit: pull(self.store, ref, plat, creds, self.insecure, emit)):
            yield p
        self._event("pull", ref.familiar)

    @rpc
    async def Push(self, request: pb.PushRequest, context: Context) -> AsyncIterator[pb.Progress]:
        from ..images.push import push, push_all_tags

        ref = reference.parse(request.reference, default_tag="" if request.all_tags else "latest")
        if ref.digest:
            raise InvalidArgument(f"cannot push a digest reference: {request.reference!r}")
        if request.all_tags and ref.tag:
            raise InvalidArgument("tag can't be used with --all-tags/-a")
        creds = _creds(request.auths, ref.domain)
        log.info("push", extra={"reference": str(ref), "all_tags": request.all_tags})

        def run(emit: Emit) -> Awaitable[object]:
            if request.all_tags:
                return push_all_tags(self.store, ref, creds, self.insecure, emit)
            return push(self.store, ref, creds, self.insecure, emit)

        async for p in _stream_events(run):
            yield p
        self._event("push", ref.familiar)

    @rpc
    async def Load(self, request_iterator: AsyncIterator[pb.LoadRequest], context: Context) -> pb.LoadResponse:
        from ..images.load import load

        loaded = await load(self.store, (chunk.data async for chunk in request_iterator), self.d.tmp)
        for x in loaded:
            self._event("load", x.image_id)
        return pb.LoadResponse(loaded=[m for x in loaded for m in x.messages()])

    @rpc
    async def Save(self, request: pb.SaveRequest, context: Context) -> AsyncIterator[pb.SaveResponse]:
        from ..images.save import save

        oci = request.format == pb.SaveRequest.OCI_ARCHIVE
        async with contextlib.aclosing(save(self.store, request.references, oci=oci, tmp=self.d.tmp)) as chunks:
            async for chunk in chunks:
                yield pb.SaveResponse(data=chunk)
        for text in request.references:
            self._event("save", self.store.resolve(text))

    @rpc
    async def Login(self, request: pb.LoginRequest, context: Context) -> pb.LoginResponse:
        from ..registry.login import login

        await login(request.server, _credentials(request.auth), self.insecure)
        return pb.LoginResponse(status="Login Succeeded")

    @rpc
    async def Import(self, request_iterator: AsyncIterator[pb.ImportRequest], context: Context) -> pb.ImportResponse:
        from .. import committing
        from ..images.commit import RunConfig, now
        from ..images.import_ import import_tar

        requests = request_iterator.__aiter__()
        try:
            first = await requests.__anext__()
        except StopAsyncIteration:
            raise InvalidArgument("import: no request") from None
        config = committing.apply_changes(RunConfig(), list(first.changes))
        tags = committing.tags_of(first.reference)

        async def chunks() -> AsyncIterator[bytes]:
            yield first.data
            async for r in requests:
                yield r.data

        rec = await import_tar(self.store, chunks(), self.d.tmp, config=config, created=now(),
                               comment=first.message or "Imported from -", tags=tags)
        log.info("imported", extra={"image": rec.id})
        self._event("import", rec.id)
        return pb.ImportResponse(image_id=rec.id)
