"""COPY/ADD sources in the build context: resolution, globs, and the content digest for cache keys.

- A source is a path inside the context; one that climbs out (`COPY ../x`) is refused with docker's words,
  and one that is not there fails with BuildKit's ("failed to compute cache key: ... not found").
- Wildcards (`*`, `?`, `[...]`, `\\` to escape) match within one path component, as Go's filepath.Match.
- A source that is a symlink, or has one among its directories, is followed as BuildKit does, but only
  inside the context: an absolute target starts again at the context root and `..` stops there. Symlinks
  below a copied directory are copied as links.
- The digest covers each copied entry's path, kind, mode, owner, link target and bytes; never its mtime.
"""

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pyrunc_dockerignore import clean_path

from pyruncd.build.context import BuildContext, ContextEntry, EntryKind
from pyruncd.build.errors import ContextError

_MAX_LINK_HOPS = 255  # Linux's limit for one path resolution
_WILDCARDS = re.compile(r"[*?\[\\]")


@dataclass(frozen=True, kw_only=True)
class ResolvedSource:
    name: str  # the context path the source names (or a glob matched); its base name names the copy
    target: str  # the entry whose content is copied: `name` with symlinks resolved inside the context


def resolve_in_context(context: BuildContext, path: str) -> str | None:
    """`path` with every symlink along it resolved without leaving the context; None if it is missing."""
    remaining = [part for part in path.split("/") if part not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while remaining:
        part = remaining.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        entry = context.entry("/".join([*resolved, part]))
        if entry is None:
            return None
        if entry.kind is EntryKind.SYMLINK:
            hops += 1
            if hops > _MAX_LINK_HOPS:
                raise ContextError(f'"{path}": too many levels of symbolic links in the build context')
            if entry.link_target.startswith("/"):
                resolved = []
            remaining = [p for p in entry.link_target.split("/") if p not in ("", ".")] + remaining
            continue
        if remaining and entry.kind is not EntryKind.DIRECTORY:
            return None
        resolved.append(part)
    return "/".join(resolved) or "."


def _glob(pattern: str) -> re.Pattern[str]:
    source, position = "", 0
    while position < len(pattern):
        char = pattern[position]
        position += 1
        if char == "*":
            source += "[^/]*"
        elif char == "?":
            source += "[^/]"
        elif char == "\\" and position < len(pattern):
            source += re.escape(pattern[position])
            position += 1
        elif char == "[":
            end = pattern.find("]", position + 1)
            if end < 0:
                raise ContextError(f'invalid pattern "{pattern}": syntax error in pattern')
            source += "[" + pattern[position:end].replace("\\", "\\\\") + "]"
            position = end + 1
        else:
            source += re.escape(char)
    return re.compile(source)


def _not_found(path: str) -> ContextError:
    return ContextError(f'failed to compute cache key: "/{path}": not found')


def resolve_sources(context: BuildContext, sources: Sequence[str]) -> list[ResolvedSource]:
    """The context entries that COPY or ADD sources name, in order (a glob's matches sorted)."""
    resolved = []
    for source in sources:
        cleaned = clean_path(source)
        if cleaned == ".." or cleaned.startswith("../"):
            raise ContextError(f"forbidden path outside the build context: {source} ()")
        relative = cleaned.lstrip("/") or "."
        if _WILDCARDS.search(relative):
            pattern = _glob(relative)
            names = sorted(path for path in context.entries if pattern.fullmatch(path))
            if not names:
                raise _not_found(relative)
        else:
            names = [relative]
        for name in names:
            target = resolve_in_context(context, name)
            if target is None:
                raise _not_found(relative)
            resolved.append(ResolvedSource(name=name, target=target))
    return resolved


def _content_digest(context: BuildContext, entry: ContextEntry) -> str:
    if entry.kind is not EntryKind.FILE:
        return ""
    taken = context.content_digest(entry.path)  # a tar context's: taken as its files were written
    if taken is not None:
        return taken
    digest = hashlib.sha256()
    with context.open(entry.path) as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_digest(context: BuildContext, sources: Sequence[ResolvedSource]) -> str:
    """The cache key input of a COPY/ADD's context sources: changes with any copied byte, path, mode,
    owner or link target; not with mtimes."""
    digest = hashlib.sha256()
    for source in sources:
        top = context.entry(source.target)
        entries = [] if top is None else [top]  # None: the context root itself
        if top is None or top.kind is EntryKind.DIRECTORY:
            entries += [entry for entry in context.below(source.target) if entry.path != source.target]
        for entry in entries:
            suffix = entry.path[len(source.target) :] if source.target != "." else "/" + entry.path
            name = (source.name + suffix).removeprefix("./")
            record = [name, entry.kind.value, entry.mode, entry.uid, entry.gid, entry.link_target]
            record.append(_content_digest(context, entry))
            digest.update(json.dumps(record, separators=(",", ":")).encode() + b"\n")
    return "sha256:" + digest.hexdigest()
