"""`extends`: a service built on another of the same file or of another file, merged by the merge rules
(the base first, the extending service over it), chains followed and cycles refused."""

from __future__ import annotations

import os

from .errors import ComposeError
from .merge import merge_service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class FileSource(Protocol):
        def load(self, path: str, base_dir: str) -> dict[str, Any]: ...


def resolve_extends(services: dict[str, dict[str, Any]], path: str, files: FileSource) -> dict[str, dict[str, Any]]:
    """The file's services with every `extends` replaced by what it names."""
    done: dict[str, dict[str, Any]] = {}

    def resolve(name: str, chain: list[str]) -> dict[str, Any]:
        if name in done:
            return done[name]
        if name in chain:
            raise ComposeError(f"circular reference with extends: {' -> '.join([*chain, name])}", f"services.{name}")
        svc = services[name]
        ext = svc.get("extends")
        if ext is None:
            done[name] = svc
            return svc
        base_name = ext["service"]
        if "file" in ext:
            other = os.path.normpath(os.path.join(os.path.dirname(path), ext["file"]))
            if os.path.abspath(other) == os.path.abspath(path):
                base = _local(services, base_name, name, resolve, [*chain, name])
            else:
                theirs = files.load(other, os.path.dirname(other)).get("services", {})
                if base_name not in theirs:
                    raise ComposeError(f'cannot extend service "{base_name}": not found in {other}',
                                       f"services.{name}.extends")
                base = theirs[base_name]
        else:
            base = _local(services, base_name, name, resolve, [*chain, name])
        merged = merge_service({k: v for k, v in base.items() if k != "extends"},
                               {k: v for k, v in svc.items() if k != "extends"})
        done[name] = merged
        return merged

    return {name: resolve(name, []) for name in services}


def _local(services: dict[str, dict[str, Any]], base_name: str, name: str, resolve: Any,
           chain: list[str]) -> dict[str, Any]:
    if base_name not in services:
        raise ComposeError(f'cannot extend service "{base_name}": no such service', f"services.{name}.extends")
    result: dict[str, Any] = resolve(base_name, chain)
    return result
