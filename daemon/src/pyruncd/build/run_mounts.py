"""`RUN --mount`: the specs (mounts.py) made the step container's mounts, as BuildKit's:

- `bind`: the context's (or a `from=` stage's or image's) `source` path, read-only unless `rw` (writes
  then go to a throw-away copy). A context source is written out (the staging directory holds no links)
  into the build's scratch; a stage's is its file system mounted for the step, the path resolved inside
  it (links followed within it only).
- `cache`: a daemon-kept directory (cache_mounts.py).
- `tmpfs`: a tmpfs (exec allowed, `size=` kept), as BuildKit mounts it.
- `secret`: the `--secret` of `pyctl build` with that id, a file (0400, uid/gid/mode as asked) bound
  read-only at the target (default /run/secrets/<id>); a missing one is skipped, or an error if `required`.

All are bind mounts the runtime already makes (the target resolved inside the rootfs as every mount's).
The targets the runtime had to create (stubs) are removed from the layer afterwards when the command
left them empty, as BuildKit's MountStubsCleaner does, and so is a directory above them that only the
stub copied up.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..containers.archive import open_in_root
from ..images.store import ImageRecord
from ..threads import in_thread
from ..volumes.mounts import MountFlags
from .cache_mounts import CacheMounts
from .context import BuildContext
from .copy_step import write_context_path
from .errors import ContextError, DockerfileParseError
from .layers import writable_rootfs
from .mounts import Mount, MountError, MountType, parse_mount
from .sources import resolve_in_context, resolve_sources, source_digest

SECRETS_DIR = "/run/secrets"
OPAQUE = "trusted.overlay.opaque"


@dataclass(kw_only=True)
class MountSources:
    """What a step's mounts are made of; one per build."""

    context: BuildContext
    cache_mounts: CacheMounts
    secrets: Mapping[str, bytes]
    image_of: Callable[[str], Awaitable[ImageRecord | None]]  # a `from=` stage or image (None: scratch)
    lowers_of: Callable[[ImageRecord | None], list[Path]]
    scratch: Callable[[], Path]  # a new directory under the build's scratch


def parse_run_mounts(specs: Sequence[str], line: int) -> list[Mount]:
    mounts = []
    for spec in specs:
        try:
            mount = parse_mount(spec)
        except MountError as error:
            raise DockerfileParseError(line=line, message=str(error), instruction="RUN") from None
        if mount.type is MountType.SSH:
            raise DockerfileParseError(line=line, message="RUN --mount=type=ssh is not supported", instruction="RUN")
        if mount.type is MountType.SECRET and not mount.target:
            mount = dataclasses.replace(mount, target=f"{SECRETS_DIR}/{mount.cache_id or mount.source}")
        if not mount.target:
            raise DockerfileParseError(line=line, message="mount target is required", instruction="RUN")
        mounts.append(mount)
    return mounts


async def mounts_key(sources: MountSources, mounts: Sequence[Mount]) -> str:
    """The mounts' part of a RUN's cache key: the specs, and what a bind reads (the context's content, or
    the `from=` image); a cache's or a secret's content is not in it, as BuildKit's."""
    parts: list[object] = []
    for mount in mounts:
        content = ""
        if mount.type is MountType.BIND or (mount.type is MountType.CACHE and mount.from_stage):
            if mount.from_stage:
                image = await sources.image_of(mount.from_stage)
                content = image.id if image else "scratch"
            else:
                content = await in_thread(_context_digest, sources.context, mount.source or ".")
        parts.append([{k: str(v) for k, v in mount.__dict__.items()}, content])
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest() if parts else ""


def _context_digest(context: BuildContext, source: str) -> str:
    return source_digest(context, resolve_sources(context, [source]))


def _resolved_in_root(root: Path, path: str) -> Path:
    """The host path of `path` inside the file system at `root`, links followed inside it only."""
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = open_in_root(root_fd, [p for p in path.split("/") if p])
    except OSError:
        raise ContextError(f"failed to mount: {path}: not found") from None
    finally:
        os.close(root_fd)
    try:
        return Path(os.readlink(f"/proc/self/fd/{fd}"))
    finally:
        os.close(fd)


def _context_copy(context: BuildContext, source: str, scratch: Path) -> Path:
    """The context's `source` (links inside the context followed) written out under `scratch`."""
    target = resolve_in_context(context, source or ".")
    if target is None:
        raise ContextError(f'failed to compute cache key: "/{source.lstrip("/")}" not found')
    out = scratch / "source"
    write_context_path(context, target, out)
    return out


async def _source(sources: MountSources, mount: Mount, stack: contextlib.ExitStack) -> Path:
    """The host path of a bind's (or a cache's seed's) source."""
    if not mount.from_stage:
        scratch = sources.scratch()
        return await in_thread(_context_copy, sources.context, mount.source, scratch)
    lowers = sources.lowers_of(await sources.image_of(mount.from_stage))
    work = sources.scratch()
    root, _upper = await in_thread(lambda: stack.enter_context(writable_rootfs(lowers, work)))
    return await in_thread(_resolved_in_root, root, mount.source or "/")


def _secret_file(data: bytes, mount: Mount, scratch: Path) -> Path:
    path = scratch / "secret"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        os.fchown(fd, mount.uid or 0, mount.gid or 0)
        os.fchmod(fd, 0o400 if mount.mode is None else mount.mode)
    return path


def bind_spec(source: Path, target: str, readonly: bool) -> str:
    spec = [("type", "bind"), ("source", str(source)), ("target", target)]
    fields = [f'"{key}={value}"' if "," in value or '"' in value else f"{key}={value}" for key, value in spec]
    return ",".join([*fields, "readonly"] if readonly else fields)


@dataclass(kw_only=True)
class StepMounts:
    flags: MountFlags = field(default_factory=MountFlags)
    targets: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def step_mounts(sources: MountSources, mounts: Sequence[Mount]) -> AsyncIterator[StepMounts]:
    """The container's mount flags for the while of the step (stage file systems stay mounted, caches
    in use, until it ends)."""
    made = StepMounts()
    stack = contextlib.ExitStack()  # the stage file systems mounted, unmounted last (in a thread)
    async with contextlib.AsyncExitStack() as astack:
        astack.push_async_callback(in_thread, stack.close)
        for mount in mounts:
            if mount.type is MountType.TMPFS:
                size = f",size={mount.size}" if mount.size else ""
                made.flags.tmpfs.append(f"{mount.target}:exec,dev{size}")
            elif mount.type is MountType.BIND:
                made.flags.mounts.append(bind_spec(await _source(sources, mount, stack), mount.target, mount.readonly))
            elif mount.type is MountType.CACHE:
                seed = await _source(sources, mount, stack) if mount.from_stage else None
                path = await astack.enter_async_context(
                    sources.cache_mounts.use(mount, seed=seed, scratch=sources.scratch()))
                made.flags.mounts.append(bind_spec(path, mount.target, mount.readonly))
            else:
                secret_id = mount.cache_id or mount.source or os.path.basename(mount.target)
                data = sources.secrets.get(secret_id)
                if data is None:
                    if mount.required:
                        raise ContextError(f"secret {secret_id}: not found")
                    continue
                made.flags.mounts.append(bind_spec(_secret_file(data, mount, sources.scratch()), mount.target, True))
            made.targets.append(mount.target)
        yield made


def _parts(path: str) -> list[str]:
    return [part for part in os.path.normpath("/" + path).split("/") if part]


@dataclass(frozen=True, kw_only=True)
class Stub:
    """A path the runtime will create for a mount target (missing in the image), or, with `existing`, the
    directory above the stubs (its lower metadata: mode, uid, gid)."""

    parts: tuple[str, ...]
    existing: tuple[int, int, int] | None = None


def find_stubs(root: Path, targets: Sequence[str]) -> list[Stub]:
    """Before the step: which targets (and parents) the runtime will have to create in the image at `root`.
    A target below a link is left alone (the runtime resolves it; what it makes there is kept)."""
    stubs: list[Stub] = []
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for target in targets:
            parts = _parts(target)
            for depth in range(1, len(parts) + 1):
                try:
                    info = os.stat("/".join(parts[:depth]), dir_fd=root_fd, follow_symlinks=False)
                except FileNotFoundError:
                    parent = os.stat("/".join(parts[:depth - 1]) or ".", dir_fd=root_fd, follow_symlinks=False)
                    if depth > 1:
                        stubs.append(Stub(parts=tuple(parts[:depth - 1]),
                                          existing=(parent.st_mode, parent.st_uid, parent.st_gid)))
                    stubs.extend(Stub(parts=tuple(parts[:d])) for d in range(depth, len(parts) + 1))
                    break
                if stat.S_ISLNK(info.st_mode) or (depth < len(parts) and not stat.S_ISDIR(info.st_mode)):
                    break
    finally:
        os.close(root_fd)
    return stubs


def _open_dir(upper_fd: int, parts: Sequence[str]) -> int | None:
    fd = os.dup(upper_fd)
    for part in parts:
        try:
            child = os.open(part, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        fd = child
    return fd


def remove_stubs(upper: Path, stubs: Sequence[Stub]) -> None:
    """After the step, in its upper dir (never following a link the command made): the stubs it left
    empty, deepest first, then a directory above them that holds nothing else and is as it was below."""
    upper_fd = os.open(upper, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for stub in sorted(stubs, key=lambda s: len(s.parts), reverse=True):
            parent_fd = _open_dir(upper_fd, stub.parts[:-1])
            if parent_fd is None:
                continue
            try:
                _remove_if_unchanged(parent_fd, stub)
            finally:
                os.close(parent_fd)
    finally:
        os.close(upper_fd)


def _remove_if_unchanged(parent_fd: int, stub: Stub) -> None:
    name = stub.parts[-1]
    try:
        info = os.stat(name, dir_fd=parent_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
        try:
            if os.listdir(fd) or OPAQUE in os.listxattr(fd):
                return
        finally:
            os.close(fd)
        if stub.existing is not None and stub.existing != (info.st_mode, info.st_uid, info.st_gid):
            return
        os.rmdir(name, dir_fd=parent_fd)
    elif stub.existing is None and stat.S_ISREG(info.st_mode) and info.st_size == 0:
        os.unlink(name, dir_fd=parent_fd)


async def stubs_of(lowers: list[Path], work: Path, targets: Sequence[str]) -> list[Stub]:
    def find() -> list[Stub]:
        with writable_rootfs(lowers, work) as (root, _upper):
            return find_stubs(root, targets)

    return await in_thread(find) if targets else []
