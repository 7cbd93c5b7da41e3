"""The Compose Specification's interpolation: $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?err}, ${VAR?err},
${VAR:+x}, ${VAR+x}, nested defaults, and $$ for a literal $. Values only: keys are left as written."""

from __future__ import annotations

import sys

from .errors import ComposeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_NAME_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME_CHARS = _NAME_START + "0123456789"


class _Unset:
    """Warn once per variable, as docker compose does."""

    def __init__(self) -> None:
        self.warned: set[str] = set()

    def warn(self, name: str) -> None:
        if name not in self.warned:
            self.warned.add(name)
            sys.stderr.write(f'WARN[0000] The "{name}" variable is not set. Defaulting to a blank string.\n')


def _closing(text: str, start: int) -> int:
    """The index of the } closing the ${ whose body starts at `start`, nested ${...} counted."""
    depth, i = 1, start
    while i < len(text):
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _braced(body: str, env: Mapping[str, str], unset: _Unset, template: str) -> str:
    i = 0
    while i < len(body) and body[i] in _NAME_CHARS:
        i += 1
    name, rest = body[:i], body[i:]
    if not name or name[0] not in _NAME_START:
        raise ComposeError(f'Invalid template: "{template}"')
    value = env.get(name)
    if not rest:
        if value is None:
            unset.warn(name)
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op):]
            break
    else:
        raise ComposeError(f'Invalid template: "{template}"')
    empty = value is None or (op.startswith(":") and value == "")
    if op.endswith("-"):
        return substitute(arg, env, unset) if empty else value or ""
    if op.endswith("+"):
        return "" if empty else substitute(arg, env, unset)
    if empty:
        message = substitute(arg, env, unset)
        raise ComposeError(f"required variable {name} is missing a value" + (f": {message}" if message else ""))
    return value or ""


def substitute(text: str, env: Mapping[str, str], unset: _Unset | None = None) -> str:
    """`text` with its variables replaced from `env`; ComposeError for a bad template or a required one."""
    unset = unset or _Unset()
    out: list[str] = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
        elif text.startswith("${", j):
            end = _closing(text, j + 2)
            if end < 0:
                raise ComposeError(f'Invalid template: "{text}"')
            out.append(_braced(text[j + 2:end], env, unset, text))
            i = end + 1
        elif j + 1 < len(text) and text[j + 1] in _NAME_START:
            k = j + 1
            while k < len(text) and text[k] in _NAME_CHARS:
                k += 1
            name = text[j + 1:k]
            if name not in env:
                unset.warn(name)
            out.append(env.get(name, ""))
            i = k
        else:  # a lone $ stays, as compose-go leaves it
            out.append("$")
            i = j + 1


def interpolate(tree: object, env: Mapping[str, str], where: str = "") -> object:
    """A YAML tree with every string value substituted; errors name the value's path."""
    unset = _Unset()

    def walk(node: object, path: str) -> object:
        if isinstance(node, str):
            try:
                return substitute(node, env, unset)
            except ComposeError as e:
                raise ComposeError(f"error while interpolating {path}: {e}") from None
        if isinstance(node, dict):
            return {k: walk(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{path}[{n}]") for n, v in enumerate(node)]
        return node

    return walk(tree, where)
