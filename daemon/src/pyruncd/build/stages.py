"""Which stages a build runs and in what order, as BuildKit decides it (dockerfile2llb/convert.go).

A stage depends on another through `FROM <earlier stage>`, `COPY --from=<stage name or index>` and
`RUN --mount=from=<stage>`; any other `--from` names an image. Only the stages the target needs are
built, and stages that do not depend on each other form levels that can run concurrently.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from pyruncd.build import instructions as ins
from pyruncd.build.dockerfile import Dockerfile, Stage
from pyruncd.build.errors import DockerfileError, DockerfileParseError
from pyruncd.build.expand import SubstitutionError, substitute
from pyruncd.build.mounts import MountError, mount_source_stage
from pyruncd.build.platforms import from_platform, refuse_foreign_run
from pyruncd.build.scope import PROXY_ARGS, GlobalScope, platform_args, resolve_global_scope
from pyruncd.images.manifest import Platform, host_platform

_SCRATCH = "scratch"


@dataclass(frozen=True, kw_only=True)
class PlannedStage:
    stage: Stage
    label: str  # the stage's name, or BuildKit's "stage-N" for an unnamed one
    base_image: str | None  # the image to start from; None for scratch or a stage
    base_stage: int | None  # the index of the stage it starts from
    platform: str  # "os/arch[/variant]": FROM --platform's, else the build's target platform
    stage_dependencies: frozenset[int]  # the stages it needs built first (its base included)
    image_dependencies: frozenset[str]  # images it copies or mounts from


@dataclass(frozen=True, kw_only=True)
class BuildPlan:
    stages: tuple[PlannedStage, ...]  # the stages the target needs, in Dockerfile order
    target: int
    levels: tuple[tuple[int, ...], ...]  # stage indexes; a level depends only on the levels before it
    scope: GlobalScope
    warnings: tuple[str, ...]

    def stage(self, index: int) -> PlannedStage:
        return next(planned for planned in self.stages if planned.stage.index == index)


def _substituted(text: str, scope: GlobalScope, line: int) -> str:
    try:
        return substitute(text, scope.values).text
    except SubstitutionError as error:
        raise DockerfileParseError(line=line, message=str(error), instruction="FROM") from None


def stage_by_name(stages: tuple[Stage, ...], name: str) -> Stage | None:
    """The stage `FROM name` or `RUN --mount=from=name` means (stage names are case-insensitive)."""
    return next((stage for stage in stages if stage.name == name.lower()), None)


def copy_source(stages: tuple[Stage, ...], copy: ins.Copy) -> Stage | str | None:
    """The stage (by name or index), or else the image, that `COPY --from` names; None without --from."""
    reference = copy.from_stage
    if reference is None:
        return None
    if substitute(reference, {}).text != reference:
        raise DockerfileParseError(
            line=copy.line,
            instruction="COPY",
            message="variable expansion is not supported for --from, define a new stage with FROM "
            "using ARG from global scope as a workaround",
        )
    if reference.isdigit():
        if int(reference) >= len(stages):
            raise DockerfileParseError(line=copy.line, message=f"invalid stage index {reference}", instruction="COPY")
        return stages[int(reference)]
    return stage_by_name(stages, reference) or reference


def _dependencies(stages: tuple[Stage, ...], stage: Stage) -> tuple[set[int], set[str]]:
    stage_indexes: set[int] = set()
    images: set[str] = set()
    sources: list[Stage | str] = []
    for instruction in stage.instructions:
        if isinstance(instruction, ins.Copy):
            source = copy_source(stages, instruction)
            if source is not None:
                sources.append(source)
        elif isinstance(instruction, ins.Run):
            for spec in instruction.mounts:
                try:
                    reference = mount_source_stage(spec)
                except MountError as error:
                    raise DockerfileParseError(line=instruction.line, message=str(error), instruction="RUN") from None
                if reference:
                    sources.append(stage_by_name(stages, reference) or reference)
    for source in sources:
        if isinstance(source, Stage):
            stage_indexes.add(source.index)
        else:
            images.add(source)
    return stage_indexes, images


def _stage_platform(stage: Stage, scope: GlobalScope, target: Platform) -> Platform:
    """FROM --platform's (in the global scope, the automatic platform ARGs included), else the target's."""
    if stage.base.platform is None:
        return target
    return from_platform(_substituted(stage.base.platform, scope, stage.base.line))


def _plan_stage(stages: tuple[Stage, ...], stage: Stage, scope: GlobalScope, target: Platform) -> PlannedStage:
    base = _substituted(stage.base.image, scope, stage.base.line)
    if not base:
        raise DockerfileParseError(
            line=stage.base.line, message=f"base name ({stage.base.image}) should not be blank", instruction="FROM"
        )
    base_stage = stage_by_name(stages[: stage.index], base)
    stage_indexes, images = _dependencies(stages, stage)
    if base_stage is not None:
        stage_indexes.add(base_stage.index)
    return PlannedStage(
        stage=stage,
        label=stage.name or f"stage-{stage.index}",
        base_image=None if base_stage is not None or base.lower() == _SCRATCH else base,
        base_stage=None if base_stage is None else base_stage.index,
        platform=str(_stage_platform(stage, scope, target)),
        stage_dependencies=frozenset(stage_indexes),
        image_dependencies=frozenset(images),
    )


def _check_acyclic(planned: list[PlannedStage]) -> None:
    finished: set[int] = set()

    def visit(index: int, path: tuple[int, ...]) -> None:
        if index in path:
            raise DockerfileError(f"circular dependency detected on stage: {planned[index].label}")
        if index in finished:
            return
        for dependency in planned[index].stage_dependencies:
            visit(dependency, (*path, index))
        finished.add(index)

    for stage in planned:
        visit(stage.stage.index, ())


def _reachable(planned: list[PlannedStage], target: int) -> set[int]:
    found, pending = set(), [target]
    while pending:
        index = pending.pop()
        if index not in found:
            found.add(index)
            pending.extend(planned[index].stage_dependencies)
    return found


def _levels(planned: list[PlannedStage], needed: set[int]) -> tuple[tuple[int, ...], ...]:
    level: dict[int, int] = {}
    for index in sorted(needed):
        _level_of(planned, index, level)
    depth = max(level.values()) + 1
    return tuple(tuple(sorted(i for i in needed if level[i] == n)) for n in range(depth))


def _level_of(planned: list[PlannedStage], index: int, level: dict[int, int]) -> int:
    if index not in level:
        dependencies = planned[index].stage_dependencies
        level[index] = 1 + max((_level_of(planned, d, level) for d in dependencies), default=-1)
    return level[index]


def unused_build_args_warning(build_args: Mapping[str, str], consumed: set[str]) -> str | None:
    unused = sorted(name for name in build_args if name not in consumed and name not in PROXY_ARGS)
    if not unused:
        return None
    return f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed"


def plan_build(
    dockerfile: Dockerfile,
    *,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    automatic_args: Mapping[str, str] | None = None,
    target_platform: Platform | None = None,
) -> BuildPlan:
    """The plan for building `target` (default: the last stage) for `target_platform` (default: this
    machine's). Raises DockerfileError in BuildKit's words ('target stage "x" could not be found', circular
    dependencies, blank base names, platforms)."""
    build_args = build_args or {}
    target_platform = target_platform or host_platform()
    automatic = platform_args(target_platform) if automatic_args is None else automatic_args
    scope = resolve_global_scope(dockerfile.global_args, build_args, escape=dockerfile.escape, automatic=automatic)
    stages = dockerfile.stages
    seen: set[str] = set()
    for stage in stages:
        if stage.name is not None and stage.name in seen:
            raise DockerfileParseError(
                line=stage.base.line, message=f'duplicate stage name "{stage.name}"', instruction="FROM"
            )
        if stage.name is not None:
            seen.add(stage.name)
    planned = [_plan_stage(stages, stage, scope, target_platform) for stage in stages]
    _check_acyclic(planned)
    if target is None:
        target_index = len(stages) - 1
    else:
        found = stage_by_name(stages, target)
        if found is None:
            raise DockerfileError(f'target stage "{target}" could not be found')
        target_index = found.index
    needed = _reachable(planned, target_index)
    for index in sorted(needed):  # a stage that RUNs needs its platform run here: refused before any step
        if any(isinstance(instruction, ins.Run) for instruction in stages[index].instructions):
            refuse_foreign_run(Platform(*planned[index].platform.split("/")))
    consumed = set(scope.declared)
    for index in needed:
        for instruction in stages[index].instructions:
            if isinstance(instruction, ins.Arg):
                consumed.update(declaration.name for declaration in instruction.declarations)
    warning = unused_build_args_warning(build_args, consumed)
    return BuildPlan(
        stages=tuple(planned[index] for index in sorted(needed)),
        target=target_index,
        levels=_levels(planned, needed),
        scope=scope,
        warnings=() if warning is None else (warning,),
    )
