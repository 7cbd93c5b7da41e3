"""BuildKit's own Dockerfile parser, through the `dockerfile` package, behind typed records.

The package compiles BuildKit's parser (moby/buildkit frontend/dockerfile/parser) into an extension module:
it handles the escape directive, line continuations, comments, heredocs, flags and the JSON/shell form split
exactly as BuildKit does. It has no type information, so this is the one module that touches it.

What it does not give is added here: the parser directives themselves (`read_directives`), whether a
heredoc is chomped (`<<-`) or expanded (unquoted delimiter), and the line of a parse error (its exceptions
carry only the message).
"""

import re
from dataclasses import dataclass
from typing import Any

from pyruncd.build.errors import DockerfileError, DockerfileParseError

# A heredoc marker as BuildKit's parser recognises it in a word: an optional fd, <<, an optional - (chomp),
# then the delimiter, quoted (no expansion) or not.
_HEREDOC_MARKER = re.compile(r"^(\d*)<<(-?)(.+)$")
# Parser directives: `# name=value` lines at the very top (BuildKit's directive regexp).
_KNOWN_DIRECTIVES = frozenset(("syntax", "escape", "check"))
_DIRECTIVE = re.compile(r"^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$")


@dataclass(frozen=True, kw_only=True)
class RawHeredoc:
    name: str
    content: str
    fd: int
    chomp: bool  # `<<-`: leading tabs are stripped from each line
    expand: bool  # an unquoted delimiter: variables in the body are expanded


@dataclass(frozen=True, kw_only=True)
class RawNode:
    """One instruction as BuildKit's parser sees it, before its arguments are interpreted."""

    keyword: str  # upper-cased; may be no instruction at all (the caller refuses it)
    trigger: str | None  # ONBUILD's instruction keyword, upper case
    json_form: bool
    original: str
    start_line: int
    end_line: int
    flags: tuple[str, ...]
    args: tuple[str, ...]
    heredocs: tuple[RawHeredoc, ...]


def read_directives(text: str) -> dict[str, str]:
    """The parser directives at the top of a Dockerfile. Any other line, even a comment or an unknown
    directive, ends them (the parser itself refuses a directive given twice)."""
    directives: dict[str, str] = {}
    for line in text.lstrip("\ufeff").splitlines():
        match = _DIRECTIVE.match(line.strip())
        if match is None or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        directives[match.group(1).lower()] = match.group(2)
    return directives


def _heredoc_markers(args: tuple[str, ...]) -> list[tuple[bool, bool]]:
    """(chomp, expand) of each heredoc marker in the instruction's words, in order."""
    markers = []
    for arg in args:
        for word in arg.split():
            match = _HEREDOC_MARKER.match(word)
            if match is None:
                continue
            delimiter = match.group(3)
            markers.append((match.group(2) == "-", not any(q in delimiter for q in "\"'")))
    return markers


def _node(command: Any) -> RawNode:
    heredocs = tuple(command.heredocs)
    args = tuple(str(arg) for arg in command.value)
    markers = _heredoc_markers(args)
    raw_heredocs = []
    for index, heredoc in enumerate(heredocs):
        chomp, expand = markers[index] if index < len(markers) else (False, True)
        raw_heredocs.append(
            RawHeredoc(
                name=str(heredoc.name),
                content=str(heredoc.content),
                fd=int(heredoc.file_descriptor),
                chomp=chomp,
                expand=expand,
            )
        )
    trigger = command.sub_cmd
    return RawNode(
        keyword=str(command.cmd).upper(),
        trigger=str(trigger).upper() if trigger else None,
        json_form=bool(command.json),
        original=str(command.original),
        start_line=int(command.start_line),
        end_line=int(command.end_line),
        flags=tuple(str(flag) for flag in command.flags),
        args=args,
        heredocs=tuple(raw_heredocs),
    )


def _buildkit() -> Any:
    """BuildKit's parser, loaded at the first build: it is a Go library, and its runtime (threads,
    memory) has no business in an idle daemon."""
    import dockerfile

    return dockerfile


def _parse(text: str) -> list[RawNode]:
    return [_node(command) for command in _buildkit().parse_string(text)]


def _error_line(text: str) -> int:
    """The line of the instruction BuildKit's parser refused. Its exception has only the message, so find
    the longest prefix of the file that still parses: the refused instruction starts after its last
    instruction. (A shorter prefix can fail for another reason, e.g. a heredoc cut in half, so the search
    goes backwards from the whole file.)"""
    lines = text.splitlines(keepends=True)
    for count in range(len(lines) - 1, 0, -1):
        try:
            nodes = _parse("".join(lines[:count]))
        except _buildkit().GoParseError:
            continue
        last = nodes[-1].end_line if nodes else 0
        for number in range(last + 1, len(lines) + 1):
            stripped = lines[number - 1].strip()
            if stripped and not stripped.startswith("#"):
                return number
        return last + 1
    return 1


def parse_nodes(text: str) -> list[RawNode]:
    """Every instruction of a Dockerfile, in order. Raises DockerfileError for an empty file and
    DockerfileParseError (with the line) for what BuildKit's parser refuses."""
    try:
        return _parse(text)
    except _buildkit().GoParseError as error:
        message = str(error)
        if message == "file with no instructions":
            raise DockerfileError("the Dockerfile cannot be empty") from None
        raise DockerfileParseError(line=_error_line(text), message=message) from None
