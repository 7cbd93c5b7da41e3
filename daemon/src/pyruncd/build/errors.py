"""The build front end's error kinds. Each message is one line, in docker's or BuildKit's words."""

from pyruncd.errors import InvalidArgument, PyruncdError


class DockerfileError(InvalidArgument):
    """The Dockerfile is malformed or asks for something that cannot be built."""


class DockerfileParseError(DockerfileError):
    """An instruction that does not parse; the message names its line as BuildKit does."""

    def __init__(self, *, line: int, message: str, instruction: str = "") -> None:
        super().__init__(f"dockerfile parse error on line {line}: {message}")
        self.line = line
        self.instruction = instruction


class ContextError(InvalidArgument):
    """The build context is unsafe, too large, or lacks what an instruction names."""


class StepFailed(PyruncdError):
    """A step that ran and failed (a RUN's non-zero exit), in docker's words; `code` is what `pyctl build`
    exits with, the command's own status as docker's."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
