"""ARG and ENV scoping, as BuildKit and docker do it.

- Global ARGs (before the first FROM) are visible only to FROM lines; a stage sees one only after
  redeclaring it (`ARG NAME` takes the global value).
- A stage ARG's value: the --build-arg, else its default (substituted), else the global value.
- ENV always wins over an ARG of the same name, and is visible to every later instruction.
- The predefined proxy ARGs (HTTP_PROXY and friends) reach RUN from --build-arg without a declaration,
  but stay out of the cache key and the image unless declared.
- The automatic platform ARGs (TARGETPLATFORM, BUILDARCH, ...) are global ARGs that need no declaration.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pyruncd.build import instructions as ins
from pyruncd.build.errors import DockerfileParseError
from pyruncd.build.expand import SubstitutionError, substitute
from pyruncd.build.substitute import SubstitutedInstruction, substitute_instruction
from pyruncd.images.manifest import Platform, host_platform

PROXY_ARGS = frozenset(
    spelling for name in ("HTTP", "HTTPS", "FTP", "NO", "ALL") for spelling in (f"{name}_PROXY", f"{name.lower()}_proxy")
)

def platform_args(target_platform: Platform | str | None = None) -> dict[str, str]:
    """The automatic platform ARGs for a build on this machine, for `target_platform` (default: this machine;
    a string is taken as written, "os/arch[/variant]")."""
    build_platform = host_platform()
    if isinstance(target_platform, str):
        target_platform = Platform(*target_platform.split("/"))
    values: dict[str, str] = {}
    for prefix, value in (("BUILD", build_platform), ("TARGET", target_platform or build_platform)):
        values[f"{prefix}PLATFORM"] = str(value)
        values[f"{prefix}OS"] = value.os
        values[f"{prefix}ARCH"] = value.architecture
        values[f"{prefix}VARIANT"] = value.variant
    return values


@dataclass(frozen=True, kw_only=True)
class GlobalScope:
    values: Mapping[str, str]  # what FROM lines see: the platform ARGs and global ARGs that have a value
    declared: frozenset[str]  # global ARG names, whether or not they have a value


def _declared_values(
    arg: ins.Arg, variables: dict[str, str], build_args: Mapping[str, str], escape: str
) -> tuple[ins.Arg, set[str], dict[str, str]]:
    """Give each declaration of `arg` its value, in order (a default may use the ARGs declared before it,
    even in the same instruction); a --build-arg wins over the default. Returns the instruction with its
    defaults substituted, the variables they read, and the values assigned (also set in `variables`)."""
    declarations: list[ins.ArgDeclaration] = []
    used: set[str] = set()
    assigned: dict[str, str] = {}
    for declaration in arg.declarations:
        name, default = declaration.name, declaration.default
        if default is not None:
            try:
                result = substitute(default, variables, escape=escape)
            except SubstitutionError as error:
                raise DockerfileParseError(line=arg.line, message=str(error), instruction="ARG") from None
            default = result.text
            used |= result.used
        if name in build_args:
            assigned[name] = build_args[name]
        elif default is not None:
            assigned[name] = default
        if name in assigned:
            variables[name] = assigned[name]
        declarations.append(ins.ArgDeclaration(name=name, default=default))
    return dataclasses.replace(arg, declarations=tuple(declarations)), used, assigned


def resolve_global_scope(
    args: Sequence[ins.Arg],
    build_args: Mapping[str, str],
    *,
    escape: str = "\\",
    automatic: Mapping[str, str] | None = None,
) -> GlobalScope:
    values = dict(platform_args() if automatic is None else automatic)
    for arg in args:
        _declared_values(arg, values, build_args, escape)
    declared = frozenset(declaration.name for arg in args for declaration in arg.declarations)
    return GlobalScope(values=values, declared=declared)


class StageScope:
    """The variables one stage sees, instruction by instruction: `apply` each instruction in order."""

    def __init__(
        self,
        *,
        global_scope: GlobalScope,
        build_args: Mapping[str, str],
        image_env: Mapping[str, str] | None = None,
        escape: str = "\\",
    ) -> None:
        self._global = global_scope
        self._build_args = build_args
        self._escape = escape
        self._args: dict[str, str] = {}
        self._env: dict[str, str] = dict(image_env or {})

    @property
    def variables(self) -> dict[str, str]:
        """What substitution sees: declared ARGs with a value, overridden by ENV."""
        return {**self._args, **self._env}

    @property
    def env(self) -> dict[str, str]:
        """The image config's Env so far: the base image's and this stage's ENV."""
        return dict(self._env)

    @property
    def arg_values(self) -> dict[str, str]:
        """Declared ARGs with a value: a RUN sees them and its cache key includes them."""
        return dict(self._args)

    def run_environment(self) -> dict[str, str]:
        """The environment of a RUN: undeclared proxy build args, the stage's ARGs, then ENV on top."""
        proxies = {name: value for name, value in self._build_args.items() if name in PROXY_ARGS}
        return {**proxies, **self._args, **self._env}

    def apply(self, instruction: ins.Instruction) -> SubstitutedInstruction:
        """`instruction` substituted with the variables in scope before it; ARG and ENV then change the scope."""
        if isinstance(instruction, ins.Arg):
            return self._declare(instruction)
        result = substitute_instruction(instruction, self.variables, escape=self._escape)
        if isinstance(result.instruction, ins.Env):
            self._env.update((pair.key, pair.value) for pair in result.instruction.variables)
        return result

    def _declare(self, arg: ins.Arg) -> SubstitutedInstruction:
        # a declaration without a default and without a --build-arg takes the global ARG's value
        for declaration in arg.declarations:
            if declaration.default is None and declaration.name not in self._build_args:
                if declaration.name in self._global.values:
                    self._args[declaration.name] = self._global.values[declaration.name]
        substituted, used, assigned = _declared_values(arg, self.variables, self._build_args, self._escape)
        self._args.update(assigned)
        return SubstitutedInstruction(instruction=substituted, used=frozenset(used))
