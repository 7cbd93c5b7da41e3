"""The Dockerfile's instructions as typed records, as written (before variable substitution).

Every record knows its line (for error messages) and its original text (for the image history's
`created_by`). Values that the reference says are substituted keep their quotes and `$` here:
pyruncd.build.substitute produces the substituted copy of a record for a given scope.
"""

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Instruction:
    line: int
    original: str

    @property
    def keyword(self) -> str:
        return type(self).__name__.upper()


@dataclass(frozen=True, kw_only=True)
class Heredoc:
    """An inline file: `RUN <<EOF` scripts and `COPY <<EOF /dst` sources."""

    name: str
    content: str
    fd: int = 0
    chomp: bool = False  # `<<-`: strip leading tabs from each line
    expand: bool = True  # unquoted delimiter: variables in the body are substituted

    def body(self) -> str:
        if not self.chomp:
            return self.content
        return "".join(line.lstrip("\t") for line in self.content.splitlines(keepends=True))


@dataclass(frozen=True, kw_only=True)
class KeyValue:
    key: str
    value: str


@dataclass(frozen=True, kw_only=True)
class From(Instruction):
    image: str
    stage_name: str | None = None  # lower case, as BuildKit compares stage names
    platform: str | None = None


@dataclass(frozen=True, kw_only=True)
class CommandLine(Instruction):
    """RUN, CMD and ENTRYPOINT: the exec form's argv, or the shell form's one string (argv of one item)."""

    argv: tuple[str, ...]
    shell_form: bool
    heredocs: tuple[Heredoc, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Run(CommandLine):
    mounts: tuple[str, ...] = ()  # `--mount` specs, parsed by pyruncd.build.mounts once substituted
    network: str | None = None  # default | none | host
    security: str | None = None  # sandbox | insecure


@dataclass(frozen=True, kw_only=True)
class Cmd(CommandLine):
    pass


@dataclass(frozen=True, kw_only=True)
class Entrypoint(CommandLine):
    pass


@dataclass(frozen=True, kw_only=True)
class Label(Instruction):
    labels: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Env(Instruction):
    variables: tuple[KeyValue, ...]


@dataclass(frozen=True, kw_only=True)
class Maintainer(Instruction):
    name: str


@dataclass(frozen=True, kw_only=True)
class Expose(Instruction):
    ports: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class FileTransfer(Instruction):
    """COPY and ADD: context (or stage, or URL) sources, inline heredoc sources, one destination."""

    sources: tuple[str, ...]
    inline_sources: tuple[Heredoc, ...]
    destination: str
    chown: str | None = None
    chmod: str | None = None
    link: bool = False


@dataclass(frozen=True, kw_only=True)
class Copy(FileTransfer):
    from_stage: str | None = None  # a stage name or index, or an image reference


@dataclass(frozen=True, kw_only=True)
class Add(FileTransfer):
    keep_git_dir: bool = False
    checksum: str | None = None


@dataclass(frozen=True, kw_only=True)
class Volume(Instruction):
    paths: tuple[str, ...]
    json_form: bool


@dataclass(frozen=True, kw_only=True)
class User(Instruction):
    user: str


@dataclass(frozen=True, kw_only=True)
class Workdir(Instruction):
    path: str


@dataclass(frozen=True, kw_only=True)
class ArgDeclaration:
    name: str
    default: str | None  # None: declared without a value (`ARG NAME`)


@dataclass(frozen=True, kw_only=True)
class Arg(Instruction):
    declarations: tuple[ArgDeclaration, ...]


@dataclass(frozen=True, kw_only=True)
class Onbuild(Instruction):
    trigger: str  # the instruction to run in a child build, as written (`RUN echo hi`)


@dataclass(frozen=True, kw_only=True)
class Stopsignal(Instruction):
    signal: str


@dataclass(frozen=True, kw_only=True)
class Healthcheck(Instruction):
    """`test` as the image config holds it: ["NONE"], ["CMD", argv...] or ["CMD-SHELL", command].
    Durations are in seconds; None where the Dockerfile leaves docker's default."""

    test: tuple[str, ...]
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    start_interval: float | None = None
    retries: int | None = None


@dataclass(frozen=True, kw_only=True)
class Shell(Instruction):
    argv: tuple[str, ...]
