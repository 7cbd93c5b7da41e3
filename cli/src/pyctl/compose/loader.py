"""Compose files: discovery as docker compose v2's, YAML read safely and bounded, interpolation, each file
read into long forms (paths resolved against its directory), `include` and `extends` resolved."""

from __future__ import annotations

import os

from . import check, top_keys
from .errors import ComposeError
from .extends import resolve_extends
from .interpolate import interpolate
from .merge import merge_projects
from .service_keys import read_service

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from yaml import SafeLoader

MAX_FILE = 4 << 20  # a compose file past 4 MiB is a mistake, not an application
NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDES = ("compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml",
             "docker-compose.override.yml")
_TOP = {"version", "name", "services", "networks", "volumes", "secrets", "configs", "include"}


def discover(start: str) -> list[str]:
    """The first compose file in `start` or its parents, with its override file when there is one."""
    here = os.path.abspath(start)
    while True:
        for name in NAMES:
            path = os.path.join(here, name)
            if os.path.isfile(path):
                found = [path]
                for override in OVERRIDES:
                    if os.path.isfile(os.path.join(here, override)):
                        found.append(os.path.join(here, override))
                        break
                return found
        parent = os.path.dirname(here)
        if parent == here:
            raise ComposeError("no configuration file provided: not found")
        here = parent


def _loader() -> type[SafeLoader]:
    """PyYAML's safe loader with YAML 1.2's scalars, as docker compose's go-yaml reads them: `22:22` is a
    string (not 1.1's base-60 1342), `yes`/`on` are strings, so is `0755`; only true/false are booleans."""
    import re
    from typing import cast

    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dropped = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
    resolvers = {k: [(tag, rx) for tag, rx in v if tag not in dropped] for k, v in base.yaml_implicit_resolvers.items()}
    # the C loader when PyYAML has libyaml (its parser; resolving stays PyYAML's, so the resolvers apply)
    loader = cast("type[SafeLoader]", type("ComposeLoader", (base,), {"yaml_implicit_resolvers": resolvers}))
    loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$"),
                                 list("-+0123456789"))
    loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))
    return loader


def read_yaml(path: str) -> dict[str, Any]:
    """One file's top-level mapping: PyYAML's safe loader only (no tags constructed), at most MAX_FILE bytes."""
    import yaml

    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE + 1)
    except OSError as e:
        raise ComposeError(f"open {path}: {e.strerror}") from None
    if len(data) > MAX_FILE:
        raise ComposeError(f"{path}: larger than {MAX_FILE} bytes")
    try:
        tree = yaml.load(data, Loader=_loader())  # noqa: S506 - a SafeLoader subclass: YAML 1.2 scalars only
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ComposeError(f"yaml:{line}: {problem}", path) from None
    except RecursionError:
        raise ComposeError("yaml: nested too deeply", path) from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ComposeError(f"top-level object must be a mapping, not {check.kind(tree)}", path)
    return tree


class Files:
    """Reads each file once per (path, base directory): what include and extends refer to."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._cache: dict[tuple[str, str], dict[str, Any]] = {}
        self._including: list[str] = []

    def load(self, path: str, base_dir: str) -> dict[str, Any]:
        """A file's long forms: services (extends resolved), networks, volumes, secrets, configs, name."""
        key = (os.path.abspath(path), base_dir)
        if key not in self._cache:
            self._cache[key] = self._read(key[0], base_dir)
        return self._cache[key]

    def _read(self, path: str, base_dir: str) -> dict[str, Any]:
        raw = read_yaml(path)
        for k in raw:
            if k not in _TOP and not str(k).startswith("x-"):
                raise ComposeError(f"additional property '{k}' is not allowed", path)
        if "version" in raw:
            import sys

            sys.stderr.write(f"WARN[0000] {path}: the attribute `version` is obsolete, it will be ignored, please "
                             "remove it to avoid potential confusion\n")
        tree = check.mapping(interpolate({k: v for k, v in raw.items() if not str(k).startswith("x-")}, self.env), path)
        try:
            out = read_top(tree, base_dir)
        except ComposeError as e:
            raise ComposeError(f"{path}: {e}") from None
        out["services"] = resolve_extends(out.get("services", {}), path, self)
        for item in tree.get("include") or []:
            out = self._include(out, item, path, base_dir)
        return out

    def _include(self, out: dict[str, Any], item: object, path: str, base_dir: str) -> dict[str, Any]:
        if path in self._including:
            raise ComposeError(f"include cycle: {' -> '.join([*self._including, path])}")
        cfg = {"path": item} if isinstance(item, str) else check.mapping(item, f"{path}: include")
        paths = check.strings(cfg.get("path"), f"{path}: include.path")
        if not paths:
            raise ComposeError("include.path is required", path)
        files = [os.path.normpath(os.path.join(base_dir, p)) for p in paths]
        directory = cfg.get("project_directory")
        inc_dir = (os.path.normpath(os.path.join(base_dir, check.string(directory, f"{path}: include.project_directory")))
                   if directory else os.path.dirname(files[0]))
        self._including.append(path)
        try:
            included: dict[str, Any] = {}
            for f in files:
                included = merge_projects(included, self.load(f, inc_dir))
        finally:
            self._including.pop()
        for kind in ("services", "networks", "volumes", "secrets", "configs"):
            mine = out.setdefault(kind, {})
            for name, value in included.get(kind, {}).items():
                if name in mine and mine[name] != value:
                    raise ComposeError(f"{kind}.{name} conflicts with imported resource", path)
                mine[name] = value
        return out


def read_top(tree: dict[str, Any], base_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in tree:
        out["name"] = check.string(tree["name"], "name")
    services = check.mapping(tree.get("services"), "services")
    out["services"] = {name: read_service(svc, name, base_dir) for name, svc in services.items()}
    out["networks"] = {name: top_keys.network(v, name) for name, v in check.mapping(tree.get("networks"), "networks").items()}
    out["volumes"] = {name: top_keys.volume(v, name) for name, v in check.mapping(tree.get("volumes"), "volumes").items()}
    for kind in ("secrets", "configs"):
        out[kind] = {name: top_keys.file_object(v, name, kind, base_dir)
                     for name, v in check.mapping(tree.get(kind), kind).items()}
    return out
