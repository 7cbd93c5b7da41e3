"""A build from start to end: the context received, the Dockerfile parsed and planned (stages.plan_build:
only the stages the target needs), each stage built (stage.py) with the stages of one level of the plan
running concurrently and a stage waiting only for the stages it reads, then the image tagged.

Everything the build makes before it has an image is held by one lease (GC spares it) and lives under a
private scratch directory that goes at the end, whatever the end; the step containers go with their
steps (containers/ops/build_step.py). A cancelled build (the client went) stops at its next await.
"""

import asyncio
import dataclasses
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import reference
from ..errors import NotFound
from ..fsutil import private_dir
from ..images.manifest import Platform
from ..images.store import ImageRecord, ImageStore
from . import instructions as ins
from . import progress as events
from .cache import BuildCache
from .cache_mounts import CacheMounts
from .context import ContextLimits
from .dockerfile import Dockerfile, parse_dockerfile
from .errors import DockerfileError
from .platforms import parse_platform
from .progress import ALIVE_EVERY, BuildOptions, BuildWarning, Built, Emit, StepStarted, Tagged
from .receive import dockerfile_text, receive_context, without_ignored
from .run_step import StepRunner
from .stage import ImageSource, StageBuilder, StageRun
from .stages import BuildPlan, plan_build


@dataclass(kw_only=True)
class Builder:
    images: ImageStore
    runner: StepRunner  # the containers' local service
    cache: BuildCache
    cache_mounts: CacheMounts  # RUN --mount=type=cache directories, under the daemon's root
    tmp: Path  # the daemon's scratch directory (emptied at its start)
    pull: ImageSource  # a base or --from image that is not here (or every one, with --pull)
    limits: ContextLimits = dataclasses.field(default_factory=ContextLimits)


def _with_labels(dockerfile: Dockerfile, target: int, labels: Mapping[str, str]) -> Dockerfile:
    """--label as docker's classic builder takes it: a LABEL step after the target stage's last."""
    if not labels:
        return dockerfile
    pairs = tuple(ins.KeyValue(key=key, value=value) for key, value in sorted(labels.items()))
    # quoted as the parser would keep them, so substitution gives the values back as they are
    quoted = tuple(ins.KeyValue(key=p.key, value='"' + p.value.replace("\\", "\\\\").replace('"', '\\"')
                                .replace("$", "\\$") + '"') for p in pairs)
    label = ins.Label(line=0, original="LABEL " + " ".join(f'"{p.key}"={p.value}' for p in quoted), labels=quoted)
    stages = tuple(dataclasses.replace(stage, instructions=(*stage.instructions, label)) if stage.index == target
                   else stage for stage in dockerfile.stages)
    return dataclasses.replace(dockerfile, stages=stages)


def _numbering(dockerfile: Dockerfile, plan: BuildPlan) -> tuple[dict[int, int], int]:
    """Each planned stage's first step number (its FROM), in Dockerfile order, and the number of steps:
    the global ARGs count first, as the classic builder counts them."""
    first, step = {}, 1 + len(dockerfile.global_args)
    for planned in plan.stages:
        first[planned.stage.index] = step
        step += 1 + len(planned.stage.instructions)
    return first, step - 1


async def _local_or_pulled(builder: Builder, options: BuildOptions, name: str, platform: Platform) -> ImageRecord:
    """The image here if it is of `platform` (or says none), else the one pulled for it (an index's manifest
    for it)."""
    if not options.pull:
        try:
            image = builder.images.lookup(name)
        except NotFound:
            pass
        else:
            if not image.architecture or (image.os, image.architecture) == (platform.os, platform.architecture) and (
                    not platform.variant or image.variant in ("", platform.variant)):
                return image
    return await builder.pull(name, platform)


async def _build_stages(shared: StageRun, dockerfile: Dockerfile, plan: BuildPlan) -> ImageRecord | None:
    first, total = _numbering(dockerfile, plan)
    for step, arg in enumerate(dockerfile.global_args, start=1):
        shared.emit(StepStarted(text=f"Step {step}/{total} : {arg.original.rstrip()}"))
    loop = asyncio.get_running_loop()
    shared.built.update({planned.stage.index: loop.create_future() for planned in plan.stages})

    async def build_one(index: int) -> None:
        planned = plan.stage(index)
        builder = StageBuilder(shared, planned.stage, first[index], total)
        try:
            shared.built[index].set_result(await builder.build(planned))
        except BaseException as error:
            shared.built[index].set_exception(error)
            raise

    for level in plan.levels:
        tasks = [asyncio.ensure_future(build_one(index)) for index in level]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for future in shared.built.values():
                if future.done() and not future.cancelled():
                    future.exception()  # seen: a stage's failure is raised once, by gather
    return await shared.built[plan.target]


async def _heartbeat(last: list[float], started: list[float], emit: Emit, every: float = ALIVE_EVERY) -> None:
    """StepAlive after each `every` seconds without an event, once a step has begun (the client shows it
    where a person watches: a silent step is still alive)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(max(0.0, last[0] + every - loop.time()))
        now = loop.time()
        if started and now - last[0] >= every:
            emit(events.StepAlive(seconds=round(now - started[0], 1)))
            last[0] = now


async def build(builder: Builder, options: BuildOptions, chunks: AsyncIterator[bytes], emit: Emit) -> str:
    """Build the image; returns its id. Errors in docker's or BuildKit's words."""
    loop = asyncio.get_running_loop()
    last: list[float] = [loop.time()]  # the last event's time
    started: list[float] = []  # the last step's start

    def timed(event: events.Event) -> None:
        last[0] = loop.time()
        if isinstance(event, StepStarted):
            started[:] = [last[0]]
        emit(event)

    heartbeat = asyncio.ensure_future(_heartbeat(last, started, emit))
    try:
        return await _build(builder, options, chunks, timed)
    finally:
        heartbeat.cancel()


async def _build(builder: Builder, options: BuildOptions, chunks: AsyncIterator[bytes], emit: Emit) -> str:
    work = private_dir(Path(tempfile.mkdtemp(dir=builder.tmp, prefix="build-")))
    try:
        context = await receive_context(chunks, work, builder.limits)
        context = without_ignored(context, options)
        dockerfile = parse_dockerfile(dockerfile_text(context, options))
        if not dockerfile.stages:
            raise DockerfileError("file with no instructions")
        target_platform = parse_platform(options.platform) if options.platform else None
        plan = plan_build(dockerfile, build_args=options.build_args, target=options.target,
                          target_platform=target_platform)
        dockerfile = _with_labels(dockerfile, plan.target, options.labels)
        plan = plan_build(dockerfile, build_args=options.build_args, target=options.target,
                          target_platform=target_platform)
        tags = [reference.parse(tag) for tag in options.tags]
        with builder.images.leases.hold() as lease:
            shared = StageRun(images=builder.images, runner=builder.runner, cache=builder.cache,
                              cache_mounts=builder.cache_mounts, lease=lease,
                              options=options, context=context, stages=dockerfile.stages,
                              global_scope=plan.scope, escape=dockerfile.escape,
                              image_source=lambda name, platform: _local_or_pulled(builder, options, name, platform),
                              work=work, emit=emit, built={})
            image = await _build_stages(shared, dockerfile, plan)
            if image is None:
                raise DockerfileError("the build made no image: FROM scratch needs at least one step")
            for warning in plan.warnings:
                emit(BuildWarning(text=warning))
            emit(Built(image_id=image.id))
            for tag in tags:
                builder.images.tag(image.id, str(tag))
                emit(Tagged(name=tag.familiar))
            return image.id
    finally:
        await asyncio.get_running_loop().run_in_executor(None, shutil.rmtree, work, True)
