"""`.env` and env_file files, as docker compose v2 reads them: KEY=VALUE lines, `export ` prefixes, quoted
values (double quotes take \\n escapes and ${VAR}), comments, and a bare KEY taking the caller's value."""

from __future__ import annotations

from .errors import ComposeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

MAX_ENV_FILE = 1 << 20


def _value(raw: str, lookup: Mapping[str, str]) -> str:
    from .interpolate import substitute

    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1]
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1].replace("\\n", "\n").replace('\\"', '"')
        return substitute(inner, lookup)
    if " #" in raw:
        raw = raw[:raw.index(" #")].rstrip()
    return substitute(raw, lookup)


def parse(text: str, path: str, lookup: Mapping[str, str]) -> dict[str, str]:
    """The file's variables; `lookup` answers ${VAR} in values and bare KEY lines (after the file's own)."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").lstrip()
        key, eq, raw = line.partition("=")
        key = key.strip()
        if not key or any(c.isspace() for c in key):
            raise ComposeError(f"line {number}: unexpected character in variable name {key!r}", path)
        if not eq:
            if key in lookup:
                out[key] = lookup[key]
            continue
        try:
            out[key] = _value(raw, {**lookup, **out} if out else lookup)
        except ComposeError as e:
            raise ComposeError(f"line {number}: {e}", path) from None
    return out


def read(path: str, lookup: Mapping[str, str]) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read(MAX_ENV_FILE + 1)
    except OSError as e:
        raise ComposeError(f"open {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise ComposeError("not UTF-8 text", path) from None
    if len(text) > MAX_ENV_FILE:
        raise ComposeError(f"larger than {MAX_ENV_FILE} bytes", path)
    return parse(text, path, lookup)
