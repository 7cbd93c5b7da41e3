"""`.dockerignore` with docker's semantics: moby/patternmatcher (the matcher) and its ignorefile reader, plus
the docker CLI's rule that the Dockerfile and .dockerignore are always sent.

- Lines starting with `#` are comments; blank lines are skipped; each pattern is trimmed and cleaned like Go's
  filepath.Clean, and a leading `/` is dropped (patterns are relative to the context root).
- `*` matches any run of non-separators, `?` one non-separator, `[...]` a class, `\\` escapes, `**` any number
  of directories (zero included).
- `!pattern` re-includes; the last pattern that matches a path decides.
- A pattern that matches a directory matches everything below it.
"""

import re
from collections.abc import Iterable
from enum import Enum

DOCKERIGNORE = ".dockerignore"


class IgnoreFileError(ValueError):
    pass


def clean_path(path: str) -> str:
    """Go's path.Clean: the shortest equivalent slash path ("." for an empty one)."""
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append(part)
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    return ("/" + cleaned) if rooted else (cleaned or ".")


def read_ignore_file(text: str) -> list[str]:
    """The patterns of a .dockerignore, as moby's ignorefile.ReadAll gives them."""
    patterns = []
    for line in text.removeprefix("\ufeff").splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern.startswith("!")
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = clean_path(pattern)
            if len(pattern) > 1 and pattern.startswith("/"):
                pattern = pattern[1:]
        patterns.append("!" + pattern if invert else pattern)
    return patterns


class _MatchType(Enum):
    EXACT = "exact"
    PREFIX = "prefix"  # "foo**"
    SUFFIX = "suffix"  # "**foo", "**/foo"
    REGEXP = "regexp"


# regexp specials that mean nothing in a path pattern (patternmatcher's shouldEscape set)
_REGEXP_LITERALS = frozenset(".+()|{}$")


class Pattern:
    """One compiled line. A plain class, not a dataclass: `dataclasses` (with `inspect`) is ~10 ms of every
    `pyctl build`, and a pattern never leaves this module's matcher."""

    __slots__ = ("text", "exclusion", "match_type", "regexp", "depth")

    def __init__(self, *, text: str, exclusion: bool, match_type: _MatchType, regexp: "re.Pattern[str] | None",
                 depth: int) -> None:
        self.text = text  # cleaned, without the `!`
        self.exclusion = exclusion  # a `!` pattern: matching paths are sent after all
        self.match_type = match_type
        self.regexp = regexp
        self.depth = depth  # path components

    @classmethod
    def compile(cls, line: str) -> "Pattern":
        text = clean_path(line.strip())
        exclusion = text.startswith("!")
        if exclusion:
            if len(text) == 1:
                raise IgnoreFileError('illegal exclusion pattern: "!"')
            text = text[1:]
        source, match_type = "^", _MatchType.EXACT
        position = 0
        while position < len(text):
            start = position
            char = text[position]
            position += 1
            if char == "*" and text[position : position + 1] == "*":
                position += 1
                if text[position : position + 1] == "/":
                    position += 1
                if position == len(text):
                    if match_type is _MatchType.EXACT:
                        match_type = _MatchType.PREFIX
                    else:
                        source += ".*"
                        match_type = _MatchType.REGEXP
                else:
                    source += "(.*/)?"
                    match_type = _MatchType.REGEXP
                if start == 0:
                    match_type = _MatchType.SUFFIX
            elif char == "*":
                source += "[^/]*"
                match_type = _MatchType.REGEXP
            elif char == "?":
                source += "[^/]"
                match_type = _MatchType.REGEXP
            elif char in _REGEXP_LITERALS:
                source += "\\" + char
            elif char == "\\":
                if position < len(text):
                    source += re.escape(text[position])
                    position += 1
                    match_type = _MatchType.REGEXP
                else:
                    source += "\\\\"
            elif char in "[]":
                source += char
                match_type = _MatchType.REGEXP
            else:
                source += char  # as moby does: `^` in a class negates it
        regexp = None
        if match_type is _MatchType.REGEXP:
            try:
                regexp = re.compile(source + "$", re.DOTALL)
            except re.error:
                raise IgnoreFileError(f"syntax error in pattern: {text}") from None
        return cls(text=text, exclusion=exclusion, match_type=match_type, regexp=regexp, depth=len(text.split("/")))

    def matches(self, path: str) -> bool:
        if self.match_type is _MatchType.EXACT:
            return path == self.text
        if self.match_type is _MatchType.PREFIX:
            return path.startswith(self.text[:-2])
        if self.match_type is _MatchType.SUFFIX:
            suffix = self.text[2:]
            return path.endswith(suffix) or (suffix.startswith("/") and path == suffix[1:])
        assert self.regexp is not None
        return self.regexp.match(path) is not None


class IgnoreMatcher:
    """Decides which context paths stay out of the build context."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = [Pattern.compile(line) for line in patterns if line.strip()]

    @classmethod
    def for_build(cls, patterns: Iterable[str], dockerfile: str = "Dockerfile") -> "IgnoreMatcher":
        """The docker CLI's matcher: the Dockerfile and .dockerignore are sent even when a pattern matches
        them (the daemon needs the one, and the other tells it what was left out)."""
        matcher = cls(patterns)
        for always_sent in (DOCKERIGNORE, clean_path(dockerfile)):
            if matcher.ignores(always_sent):
                matcher.patterns.append(Pattern.compile("!" + always_sent))
        return matcher

    @property
    def has_exclusions(self) -> bool:
        return any(pattern.exclusion for pattern in self.patterns)

    def ignores(self, path: str) -> bool:
        """Whether the context path (slash-separated, relative to the root) is left out:
        moby's MatchesOrParentMatches."""
        path = clean_path(path)
        if path == ".":
            return False  # the context root itself is never left out
        parents = path.split("/")[:-1]
        ignored = False
        for pattern in self.patterns:
            if pattern.exclusion != ignored:
                continue  # an include pattern cannot change an ignored path, nor an exclusion a kept one
            matched = pattern.matches(path) or any(
                pattern.matches("/".join(parents[: count + 1])) for count in range(len(parents))
            )
            if matched:
                ignored = not pattern.exclusion
        return ignored

    def may_keep_below(self, directory: str) -> bool:
        """Whether an ignored directory must still be walked: an exclusion pattern may re-include something
        in it (the walk in moby's archive.TarWithOptions)."""
        prefix = clean_path(directory) + "/"
        return any(pattern.exclusion and (pattern.text + "/").startswith(prefix) for pattern in self.patterns)
