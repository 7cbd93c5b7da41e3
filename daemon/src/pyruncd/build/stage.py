"""One stage of a build, step by step: each instruction substituted in the stage's scope, looked up in
the cache, else executed (config changes here, RUN in run_step.py, COPY/ADD in copy_step.py, WORKDIR's
directory as a file step), and committed as an image on the one before, as docker's classic builder
does: every step's image is what the next step starts from and what the cache maps its key to.
"""

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ..clock import rfc3339
from ..containers.spec import DEFAULT_PATH
from ..errors import InvalidArgument
from ..images.commit import RunConfig
from ..images.manifest import Platform, host_platform
from ..images.store import ImageRecord, ImageStore, Lease
from ..threads import in_thread
from . import instructions as ins
from .add_git import CheckedOut, check_out, git_source, shown
from .add_url import Fetched, fetch_all, is_url
from .cache import BuildCache, StepKey
from .cache_mounts import CacheMounts
from .config_steps import StageConfig, apply_config_instruction, nop_one_word
from .context import BuildContext, EntryKind, read_directory_context
from .copy_step import copy_sources, is_file_in_root, make_directories
from .dockerfile import Stage, parse_dockerfile
from .errors import ContextError
from .layers import commit_step, lowers_of, writable_rootfs
from .mounts import Mount
from .platforms import refuse_foreign_run
from .progress import BuildOptions, Emit, StepStarted, StepStatus
from .run_mounts import MountSources, mounts_key, parse_run_mounts, step_mounts, stubs_of
from .run_step import StepRunner, heredoc_script, heredoc_script_mount, run_argv, run_created_by, run_step
from .scope import GlobalScope, StageScope
from .sources import resolve_sources, source_digest
from .stages import PlannedStage, stage_by_name

Result = TypeVar("Result")
# a base or COPY --from image by name, for a platform: found locally, pulled if missing or of another
# platform (or always with --pull)
ImageSource = Callable[[str, Platform], Awaitable[ImageRecord]]


@dataclass(kw_only=True)
class StageRun:
    """What every stage of one build shares."""

    images: ImageStore
    runner: StepRunner
    cache: BuildCache
    cache_mounts: CacheMounts
    lease: Lease
    options: BuildOptions
    context: BuildContext
    stages: tuple[Stage, ...]
    global_scope: GlobalScope
    escape: str
    image_source: ImageSource
    work: Path  # the build's private scratch directory
    emit: Emit
    built: dict[int, asyncio.Future[ImageRecord | None]]  # each stage's result, by index


def short_id(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


async def _to_completion(run: Callable[[], Result]) -> Result:
    """`run` in a worker thread, awaited to its end even when the build is cancelled (it mounts and
    writes files: nothing may be left half done under the build's scratch directory)."""
    future = asyncio.ensure_future(in_thread(run))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.gather(future, return_exceptions=True)
        raise


def _stage_config(images: ImageStore, image: ImageRecord | None) -> StageConfig:
    if image is None:
        return StageConfig(run=RunConfig())
    doc = images.config(image).doc
    return StageConfig(run=RunConfig.from_json(doc.get("config")), author=str(doc.get("author") or ""))


def _with_default_path(config: StageConfig) -> StageConfig:
    """A stage starts with PATH set, as the classic builder's (and BuildKit's): a base without one (scratch,
    or an image whose Env lacks it) gets Linux's default, which its RUNs see and its image config keeps."""
    if any(entry.startswith("PATH=") for entry in config.run.env):
        return config
    return dataclasses.replace(config, run=dataclasses.replace(config.run, env=[*config.run.env, DEFAULT_PATH]))


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Where a COPY or ADD reads its sources."""

    context: bool = False  # the build context
    image: ImageRecord | None = None  # else this image's file system (None: scratch, empty)
    checkout: CheckedOut | None = None  # else a git repository's tree (ADD), keyed by its commit
    git_key: str = ""  # the remote (shown), commit, subdir and --keep-git-dir of `checkout`

    @property
    def local(self) -> bool:
        """Read from a directory of this build (the context's or a checkout), not from an image's layers."""
        return self.context or self.checkout is not None


_CONTEXT = Origin(context=True)


def _env(config: StageConfig) -> dict[str, str]:
    return dict(entry.partition("=")[::2] for entry in config.run.env)


class StageBuilder:
    def __init__(self, shared: StageRun, stage: Stage, first_step: int, total_steps: int) -> None:
        self.s = shared
        self.stage = stage
        self.step = first_step
        self.total = total_steps
        self.image: ImageRecord | None = None
        self.config = StageConfig(run=RunConfig())
        self.platform = host_platform()

    def _start(self, instruction: ins.Instruction) -> None:
        self.s.emit(StepStarted(text=f"Step {self.step}/{self.total} : {instruction.original.rstrip()}"))
        self.step += 1

    async def _base(self, planned: PlannedStage) -> None:
        self.platform = Platform(*planned.platform.split("/"))
        self._start(planned.stage.base)
        if planned.base_stage is not None:
            self.image = await self.s.built[planned.base_stage]
        elif planned.base_image is not None:
            self.image = await self.s.image_source(planned.base_image, self.platform)
        if self.image is not None:
            self.s.emit(StepStatus(text=f" ---> {short_id(self.image.id)}"))
        self.config = _with_default_path(_stage_config(self.s.images, self.image))

    async def build(self, planned: PlannedStage) -> ImageRecord | None:
        """The stage's image (None for a scratch stage without steps)."""
        await self._base(planned)
        scope = StageScope(global_scope=self.s.global_scope, build_args=self.s.options.build_args,
                           image_env=_env(self.config), escape=self.s.escape)
        await self._triggers(scope)
        for instruction in self.stage.instructions:
            self._start(instruction)
            await self._step(scope.apply(instruction).instruction, scope)
        return self.image

    async def _triggers(self, scope: StageScope) -> None:
        """The base image's ONBUILD triggers, run first as docker does; they are not passed on."""
        triggers = self.config.run.on_build
        if not triggers:
            return
        self.config = dataclasses.replace(self.config, run=dataclasses.replace(self.config.run, on_build=[]))
        plural = "s" if len(triggers) > 1 else ""
        self.s.emit(StepStatus(text=f"# Executing {len(triggers)} build trigger{plural}"))
        for trigger in triggers:
            instruction = parse_dockerfile(f"FROM scratch\n{trigger}\n").stages[0].instructions[0]
            await self._step(scope.apply(instruction).instruction, scope)

    async def _step(self, instruction: ins.Instruction, scope: StageScope) -> None:
        parent = self.image.id if self.image else ""
        if isinstance(instruction, ins.Run):
            run = instruction
            created_by = run_created_by(run_argv(self.config, run), scope.arg_values)
            mounts = parse_run_mounts(run.mounts, run.line)
            inputs = scope.run_environment()
            if mounts:  # "=" is in no variable's name
                inputs["=mounts"] = await mounts_key(self._mount_sources(), mounts)
            script = heredoc_script(run)
            if script is not None:  # the command names the script's file: its text is the rest of the key
                inputs["=script"] = script.body()
            key = StepKey(parent=parent, instruction=created_by, inputs=inputs)
            await self._cached_or(key, lambda: self._run(run, mounts, scope, created_by))
        elif isinstance(instruction, ins.FileTransfer):
            transfer, fetched = await self._fetched(instruction)
            transfer, origin = await self._origin(transfer)
            source_lowers = [] if origin.local else lowers_of(self.s.images, origin.image)
            sources = await _to_completion(lambda: self._describe_sources(transfer, origin, source_lowers, fetched))
            kind = "ADD" if isinstance(transfer, ins.Add) else "COPY"
            chown = f"--chown={transfer.chown}" if transfer.chown else ""  # glued to the hash, as docker's
            created_by = nop_one_word(self.config, f"{kind} {chown}{sources} in {transfer.destination} ")
            inline = [[heredoc.name, heredoc.body()] for heredoc in transfer.inline_sources]
            key = StepKey(parent=parent, instruction=created_by, sources=sources,
                          inputs={"chown": transfer.chown or "", "chmod": transfer.chmod or "",
                                      "workdir": self.config.run.working_dir, "inline": json.dumps(inline)})
            await self._cached_or(key, lambda: self._copy(transfer, origin, created_by, fetched))
        else:
            config, created_by = apply_config_instruction(self.config, instruction)
            key = StepKey(parent=parent, instruction=created_by, inputs={"cmd_set": str(self.config.cmd_set)})
            self.config = config
            if isinstance(instruction, ins.Workdir):
                await self._cached_or(key, lambda: self._workdir(created_by))
            else:
                await self._cached_or(key, lambda: self._commit(created_by, None))

    async def _cached_or(self, key: StepKey, make: Callable[[], Awaitable[ImageRecord]]) -> None:
        cached = None if self.s.options.no_cache else self.s.cache.get(key)
        if cached is not None:
            self.image = self.s.images.get(cached)
            self.config = dataclasses.replace(_stage_config(self.s.images, self.image), cmd_set=self.config.cmd_set)
            self.s.emit(StepStatus(text=" ---> Using cache"))
        else:
            self.image = await make()
            self.s.cache.put(key, self.image.id)
        self.s.emit(StepStatus(text=f" ---> {short_id(self.image.id)}"))

    async def _commit(self, created_by: str, changes: Path | None) -> ImageRecord:
        return await commit_step(self.s.images, self.s.lease, parent=self.image, config=self.config,
                                 created_by=created_by, created=rfc3339(), changes=changes)

    def _scratch(self) -> Path:
        return Path(tempfile.mkdtemp(dir=self.s.work, prefix="step-"))

    async def _workdir(self, created_by: str) -> ImageRecord:
        work, lowers = self._scratch(), lowers_of(self.s.images, self.image)

        def make_directory() -> None:
            with writable_rootfs(lowers, work) as (root, _upper):
                make_directories(root, self.config.run.working_dir)

        await _to_completion(make_directory)
        return await self._commit(created_by, work / "upper")

    async def _run(self, run: ins.Run, mounts: list[Mount], scope: StageScope, created_by: str) -> ImageRecord:
        if self.image is None:
            raise InvalidArgument(f"{run.original}: FROM scratch has no shell or command to run")
        refuse_foreign_run(self.platform)  # a base's ONBUILD RUN, which the plan could not see
        image = self.image
        async with step_mounts(self._mount_sources(), mounts) as made:
            script = heredoc_script(run)
            if script is not None:
                made.flags.mounts.append(heredoc_script_mount(script, self._scratch()))
            stubs = await stubs_of(lowers_of(self.s.images, image), self._scratch(), made.targets)
            return await run_step(
                self.s.runner, image_id=image.id, config=self.config, run=run,
                environment=scope.run_environment(), network=self.s.options.network, emit=self.s.emit,
                mounts=made.flags, stubs=stubs, take_changes=lambda upper: self._commit(created_by, upper))

    def _mount_sources(self) -> MountSources:
        return MountSources(context=self.s.context, cache_mounts=self.s.cache_mounts, secrets=self.s.options.secrets,
                            image_of=self._image_of, lowers_of=lambda image: lowers_of(self.s.images, image),
                            scratch=self._scratch)

    async def _image_of(self, reference: str) -> ImageRecord | None:
        """A `--from` stage (by name or index) or image."""
        if reference.isdigit():
            return await self.s.built[int(reference)]
        found = stage_by_name(self.s.stages, reference)
        if found is not None:
            return await self.s.built[found.index]
        return await self.s.image_source(reference, self.platform)

    async def _origin(self, transfer: ins.FileTransfer) -> tuple[ins.FileTransfer, Origin]:
        """Where a COPY or ADD reads: the build context, a stage's or image's file system, or ADD's git
        checkout (the instruction then copies its tree)."""
        if isinstance(transfer, ins.Add) and transfer.sources and (git := git_source(transfer.sources[0])):
            if len(transfer.sources) > 1 or transfer.inline_sources:
                raise ContextError(f"{transfer.original.strip()}: a git repository is ADD's only source here")
            checked = await _to_completion(lambda: check_out(git, self._scratch(), transfer.keep_git_dir))
            key = json.dumps([shown(git.remote), checked.commit, git.subdir, transfer.keep_git_dir])
            return dataclasses.replace(transfer, sources=(".",)), Origin(checkout=checked, git_key=key)
        if not isinstance(transfer, ins.Copy) or transfer.from_stage is None:
            return transfer, _CONTEXT
        return transfer, Origin(image=await self._image_of(transfer.from_stage))

    async def _fetched(self, transfer: ins.FileTransfer) -> tuple[ins.FileTransfer, list[Fetched]]:
        """ADD's URL sources downloaded (at every build, as docker's: the key is their content), and the
        instruction with its other sources."""
        if not isinstance(transfer, ins.Add) or not any(is_url(source) for source in transfer.sources) or (
                git_source(transfer.sources[0])):
            return transfer, []
        fetched = await fetch_all([s for s in transfer.sources if is_url(s)], self._scratch, transfer.checksum)
        return dataclasses.replace(transfer, sources=tuple(s for s in transfer.sources if not is_url(s))), fetched

    def _describe_sources(self, transfer: ins.FileTransfer, origin: Origin, source_lowers: list[Path],
                          fetched: list[Fetched]) -> str:
        """The sources' part of the key and of `created_by`, as docker shows it: file:<hex>, dir:<hex> or
        multi:<hex>. From the context: their content (sources.source_digest), and the downloads' (their
        names, digests and times). From an image: that image (its id covers its content) and the paths
        named. Blocking (a thread: it reads and mounts)."""
        many = len(transfer.sources) + len(transfer.inline_sources) + len(fetched) != 1
        downloads = [[f.name, f.digest, f.mtime] for f in fetched]
        if fetched and not many:
            return f"file:{hashlib.sha256(json.dumps(downloads).encode()).hexdigest()}"
        if origin.checkout is not None:  # the commit stands for the tree
            return f"dir:{hashlib.sha256(origin.git_key.encode()).hexdigest()}"
        if origin.context:
            resolved = resolve_sources(self.s.context, transfer.sources)
            digest = source_digest(self.s.context, resolved).removeprefix("sha256:")
            if fetched:
                digest = hashlib.sha256(json.dumps([digest, downloads]).encode()).hexdigest()
            entry = self.s.context.entry(resolved[0].target) if len(resolved) == 1 else None
            single = "file" if entry is not None and entry.kind is EntryKind.FILE else "dir"
            return f"{'multi' if many or len(resolved) > 1 else single}:{digest}"
        image = origin.image.id if origin.image else "scratch"
        digest = hashlib.sha256(json.dumps([image, transfer.sources]).encode()).hexdigest()
        if many:
            return f"multi:{digest}"
        with writable_rootfs(source_lowers, self._scratch()) as (root, _upper):
            return f"{'file' if is_file_in_root(root, transfer.sources[0]) else 'dir'}:{digest}"

    async def _copy(self, transfer: ins.FileTransfer, origin: Origin, created_by: str,
                    fetched: list[Fetched]) -> ImageRecord:
        work, source_work = self._scratch(), self._scratch()
        workdir = self.config.run.working_dir or "/"
        lowers = lowers_of(self.s.images, self.image)
        source_lowers = [] if origin.local else lowers_of(self.s.images, origin.image)

        def copy() -> None:
            with contextlib.ExitStack() as stack:
                context = self.s.context
                if origin.checkout is not None:
                    context = read_directory_context(origin.checkout.root)
                elif not origin.context:
                    source_root, _ = stack.enter_context(writable_rootfs(source_lowers, source_work))
                    context = read_directory_context(source_root)
                resolved = resolve_sources(context, transfer.sources)
                root, _upper = stack.enter_context(writable_rootfs(lowers, work))
                copy_sources(root, context, resolved, transfer, workdir, work, fetched)

        await _to_completion(copy)
        return await self._commit(created_by, work / "upper")
