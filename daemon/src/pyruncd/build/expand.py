"""Variable substitution in a Dockerfile word, with BuildKit's shell-lexer rules
(frontend/dockerfile/shell/lex.go): `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`,
`${VAR:?msg}`, `${VAR?msg}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/x}`,
`${VAR//pat/x}`; single quotes are literal; in double quotes only `"`, `$` and the escape
character can be escaped; outside quotes the escape character makes the next character literal.
Quotes are removed. The result is also split into words (after substitution, quotes keep spaces).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Shell special parameters ($@, $#, ...): BuildKit reads them as one-character names.
_SPECIAL_PARAMETERS = frozenset("@*#?-$!0")


class SubstitutionError(ValueError):
    pass


@dataclass(frozen=True, kw_only=True)
class Substituted:
    text: str
    words: tuple[str, ...]
    used: frozenset[str]  # variables referenced and set
    unset: frozenset[str]  # variables referenced but not set


class _Words:
    """Splits the result into words the way BuildKit does: spaces from quotes or escapes do not split."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.current = ""
        self.in_word = False

    def add_char(self, char: str) -> None:
        if char.isspace():
            if self.in_word and self.current:
                self.words.append(self.current)
                self.current, self.in_word = "", False
        else:
            self.add_raw(char)

    def add_text(self, text: str) -> None:
        for char in text:
            self.add_char(char)

    def add_raw(self, text: str) -> None:
        self.current += text
        self.in_word = True

    def finish(self) -> list[str]:
        if self.current:
            self.words.append(self.current)
            self.current, self.in_word = "", False
        return self.words


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str, process_quotes: bool) -> None:
        self.text = text
        self.position = 0
        self.env = env
        self.escape = escape
        self.process_quotes = process_quotes
        self.raw_escapes = False  # keep escape characters: they escape `*` and `?` in ${VAR#pattern} and co.
        self.used: set[str] = set()
        self.unset: set[str] = set()

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        self.position += len(char)
        return char

    def lookup(self, name: str) -> str | None:
        value = self.env.get(name)
        (self.unset if value is None else self.used).add(name)
        return value

    def until(self, stop: str, *, raw_escapes: bool = False) -> tuple[str, list[str]]:
        """The text up to `stop` (consumed), or to the end when `stop` is empty."""
        outer, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._until(stop)
        finally:
            self.raw_escapes = outer

    def _until(self, stop: str) -> tuple[str, list[str]]:
        result: list[str] = []
        words = _Words()
        while self.peek():
            char = self.peek()
            if stop and char == stop:
                self.take()
                return "".join(result), words.finish()
            if char == "$":
                value = self.dollar()
                result.append(value)
                words.add_text(value)
            elif self.process_quotes and char in "'\"":
                value = self.single_quoted() if char == "'" else self.double_quoted()
                result.append(value)
                words.add_raw(value)
            else:
                self.take()
                if char == self.escape:
                    if self.raw_escapes:
                        words.add_raw(char)
                        result.append(char)
                    char = self.take()
                    if not char:
                        break
                    words.add_raw(char)
                else:
                    words.add_char(char)
                result.append(char)
        if stop:
            raise SubstitutionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.finish()

    def single_quoted(self) -> str:
        self.take()
        start = self.position
        end = self.text.find("'", start)
        if end < 0:
            raise SubstitutionError("unexpected end of statement while looking for matching single-quote")
        self.position = end + 1
        return self.text[start:end]

    def double_quoted(self) -> str:
        self.take()
        result: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise SubstitutionError("unexpected end of statement while looking for matching double-quote")
            if char == '"':
                self.take()
                return "".join(result)
            if char == "$":
                result.append(self.dollar())
                continue
            self.take()
            if char == self.escape:
                if self.raw_escapes:
                    result.append(char)
                if not self.peek():
                    continue
                if self.peek() in ('"', "$", self.escape):
                    char = self.take()
            result.append(char)

    def name(self) -> str:
        char = self.peek()
        if char.isdigit():
            start = self.position
            while self.peek().isdigit():
                self.take()
            return self.text[start : self.position]
        if char and char in _SPECIAL_PARAMETERS:
            return self.take()
        start = self.position
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.take()
        return self.text[start : self.position]

    def dollar(self) -> str:
        self.take()
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return self.lookup(name) or ""
        self.take()
        if not self.peek():
            raise SubstitutionError("syntax error: missing '}'")
        if self.peek() in "{}:":
            raise SubstitutionError("syntax error: bad substitution")
        name = self.name()
        modifier = self.take()
        if not modifier:
            raise SubstitutionError("syntax error: missing '}'")
        if modifier == "}":
            return self.lookup(name) or ""
        if modifier in ("#", "%"):
            return self.trimmed(name, modifier)
        if modifier == "/":
            return self.replaced(name)
        empty_is_unset = modifier == ":"
        if empty_is_unset:
            modifier += self.take()
        operation = modifier[-1:]
        if operation not in ("-", "+", "?"):
            raise SubstitutionError(f"unsupported modifier ({modifier}) in substitution")
        word = self.closed_by("}", "syntax error: missing '}'")
        value = self.lookup(name)
        missing = value is None or (empty_is_unset and value == "")
        if operation == "-":
            return word if missing else str(value)
        if operation == "+":
            return "" if missing else word
        if missing:
            default = "is not allowed to be unset" if value is None else "is not allowed to be empty"
            raise SubstitutionError(f"{name}: {word or default}")
        return str(value)

    def closed_by(self, stop: str, missing: str, *, raw_escapes: bool = False) -> str:
        try:
            word, _ = self.until(stop, raw_escapes=raw_escapes)
        except SubstitutionError:
            if not self.peek():
                raise SubstitutionError(missing) from None
            raise
        return word

    def trimmed(self, name: str, operation: str) -> str:
        """${VAR#pattern} ${VAR##pattern}: the shortest or longest matching prefix removed;
        ${VAR%pattern} ${VAR%%pattern}: the same for suffixes."""
        pattern = self.closed_by("}", "syntax error: missing '}'", raw_escapes=True)
        longest = pattern.startswith(operation)
        if longest:
            pattern = pattern[1:]
        value = self.lookup(name) or ""
        regexp = _shell_pattern(pattern, self.escape)
        starts = range(len(value) + 1)
        if operation == "#":
            ends = reversed(starts) if longest else starts
            end = next((end for end in ends if regexp.fullmatch(value, 0, end)), None)
            return value if end is None else value[end:]
        begins = starts if longest else reversed(starts)
        begin = next((begin for begin in begins if regexp.fullmatch(value, begin)), None)
        return value if begin is None else value[:begin]

    def replaced(self, name: str) -> str:
        """${VAR/pattern/replacement} (the first, longest match) and ${VAR//pattern/replacement} (all)."""
        every = self.peek() == "/"
        if every:
            self.take()
        pattern = self.closed_by("/", "syntax error: missing '/' in ${}", raw_escapes=True)
        replacement = self.closed_by("}", "syntax error: missing '}'", raw_escapes=True)
        value = self.lookup(name) or ""
        regexp = _shell_pattern(pattern, self.escape, greedy=True)
        return regexp.sub(lambda _: replacement, value, count=0 if every else 1)


def _shell_pattern(pattern: str, escape: str, *, greedy: bool = False) -> re.Pattern[str]:
    """A shell wildcard pattern (`*`, `?`, escape char) as a regexp, as BuildKit converts it."""
    source, position = "", 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*":
            source += ".*" if greedy else ".*?"
        elif char == "?":
            source += "."
        elif char == escape and position < len(pattern):
            escaped = pattern[position]
            position += 1
            if escaped not in ("}", "/", "*", "?", escape):
                raise SubstitutionError(f"invalid pattern ({pattern}) in substitution: invalid escape '\\{escaped}'")
            source += re.escape(escaped)
        else:
            source += re.escape(char)
    return re.compile(source, re.DOTALL)

def substitute(
    word: str, env: Mapping[str, str], *, escape: str = "\\", process_quotes: bool = True
) -> Substituted:
    """`word` with its variables substituted from `env`. process_quotes=False is for heredoc bodies, where
    quotes are kept as written. Raises SubstitutionError in BuildKit's words."""
    lexer = _Lexer(word, env, escape, process_quotes)
    try:
        text, words = lexer.until("")
    except SubstitutionError as error:
        raise SubstitutionError(f'failed to process "{word}": {error}') from None
    return Substituted(text=text, words=tuple(words), used=frozenset(lexer.used), unset=frozenset(lexer.unset))
