"""Options (-f, -p, --project-directory, --env-file, --profile) -> the resolved Project: files found and
merged, profiles applied, references checked, env_file read, names given, config hashes computed."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from . import check, dotenv, labels
from .errors import ComposeError
from .loader import Files, discover
from .merge import merge_projects
from .model import Attachment, FileObject, Network, Project, Service, Volume

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


@dataclass(kw_only=True)
class Options:
    files: list[str] = field(default_factory=list)
    project_name: str = ""
    project_directory: str = ""
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    cwd: str = ""
    environ: Mapping[str, str] | None = None  # the caller's environment; os.environ when None


def normalize_name(name: str) -> str:
    """docker's: lower case, only [a-z0-9_-], starting with a letter or digit."""
    out = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return out.lstrip("_-")


def _environment(opts: Options, project_dir: str, environ: Mapping[str, str]) -> dict[str, str]:
    env_files = opts.env_files or ([p] if os.path.isfile(p := os.path.join(project_dir, ".env")) else [])
    env: dict[str, str] = {}
    for path in env_files:
        env.update(dotenv.read(os.path.join(opts.cwd, path), {**environ, **env}))
    env.update(environ)
    return env


def load(opts: Options) -> Project:
    environ = dict(os.environ if opts.environ is None else opts.environ)
    cwd = opts.cwd or os.getcwd()
    files = [os.path.join(cwd, f) for f in opts.files]
    if not files and environ.get("COMPOSE_FILE"):
        files = [os.path.join(cwd, f) for f in environ["COMPOSE_FILE"].split(os.pathsep) if f]
    if not files:
        files = discover(cwd)
    files = [os.path.normpath(f) for f in files]
    project_dir = os.path.normpath(os.path.join(cwd, opts.project_directory)) if opts.project_directory \
        else os.path.dirname(files[0])
    env = _environment(opts, project_dir, environ)
    reader = Files(env)
    tree: dict[str, Any] = {}
    for f in files:
        tree = merge_projects(tree, reader.load(f, project_dir))
    name = normalize_name(opts.project_name or env.get("COMPOSE_PROJECT_NAME", "") or tree.get("name", "")
                          or os.path.basename(project_dir))
    if not name:
        raise ComposeError(f'project name must not be empty: "{os.path.basename(project_dir)}" has no valid character '
                           "(use -p)")
    profiles = opts.profiles or [p for p in env.get("COMPOSE_PROFILES", "").split(",") if p]
    return build(tree, name=name, working_dir=project_dir, config_files=files, env=env, profiles=profiles)


def _enabled(svc: dict[str, Any], profiles: list[str]) -> bool:
    mine = svc.get("profiles") or []
    return not mine or "*" in profiles or any(p in profiles for p in mine)


def _fold_env_files(svc: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """env_file read into environment (environment wins), bare keys taken from the project's environment."""
    out = dict(svc)
    merged: dict[str, str | None] = {}
    for entry in out.pop("env_file", []):
        if not os.path.isfile(entry["path"]) and not entry["required"]:
            continue
        merged.update(dotenv.read(entry["path"], env))
    merged.update(out.get("environment", {}))
    resolved = {k: (v if v is not None else env.get(k)) for k, v in merged.items()}
    if resolved:
        out["environment"] = {k: v for k, v in resolved.items() if v is not None}
    return out


def build(tree: dict[str, Any], *, name: str, working_dir: str, config_files: list[str], env: Mapping[str, str],
          profiles: list[str]) -> Project:
    services_tree: dict[str, dict[str, Any]] = tree.get("services", {})
    networks_tree = dict(tree.get("networks", {}))
    enabled = {n for n, s in services_tree.items() if _enabled(s, profiles)}
    if any(not s.get("networks") and not s.get("network_mode") for s in services_tree.values()) \
            and "default" not in networks_tree:
        networks_tree["default"] = {}
    resolved: dict[str, dict[str, Any]] = {}
    for sname, svc in services_tree.items():
        _check_service(sname, svc, tree, networks_tree, services_tree, enabled)
        resolved[sname] = _fold_env_files(svc, env)
    services: dict[str, Service] = {}
    disabled: dict[str, Service] = {}
    for sname, svc in resolved.items():
        (services if sname in enabled else disabled)[sname] = _service(sname, svc)
    used = {a.network for s in services.values() for a in s.networks}
    networks = {k: _network(k, v, name) for k, v in networks_tree.items() if k in used or k != "default"}
    volumes = {k: Volume(key=k, name=v.get("name") or (k if v.get("external") else f"{name}_{k}"),
                         external=bool(v.get("external")), labels=v.get("labels", {}))
               for k, v in tree.get("volumes", {}).items()}
    secrets = {k: FileObject(key=k, file=v["file"]) for k, v in tree.get("secrets", {}).items()}
    configs = {k: FileObject(key=k, file=v["file"]) for k, v in tree.get("configs", {}).items()}
    shown = {"name": name, "services": {k: resolved[k] for k in services}}
    named: dict[str, Mapping[str, Network | Volume]] = {"networks": networks, "volumes": volumes}
    for kind, items in (("networks", networks_tree), ("volumes", tree.get("volumes")), ("secrets", tree.get("secrets")),
                        ("configs", tree.get("configs"))):
        if items:
            # networks and volumes with the names they are made under, as docker compose v2's config shows them
            shown[kind] = {k: {"name": named[kind][k].name, **v} if kind in named else v for k, v in items.items()
                           if kind != "networks" or k in networks}
    return Project(name=name, working_dir=working_dir, config_files=config_files, services=services,
                   disabled=disabled, networks=networks, volumes=volumes, secrets=secrets, configs=configs,
                   environment=dict(env), tree=shown)


def _check_service(sname: str, svc: dict[str, Any], tree: dict[str, Any], networks: dict[str, Any],
                   services: dict[str, Any], enabled: set[str]) -> None:
    where = f"services.{sname}"
    if "image" not in svc and "build" not in svc:
        raise ComposeError(f'service "{sname}" has neither an image nor a build context specified')
    for dep, cond in svc.get("depends_on", {}).items():
        if dep not in services:
            if not cond.get("required", True):
                continue
            raise ComposeError(f'service "{sname}" depends on undefined service "{dep}": invalid compose project')
        if sname in enabled and dep not in enabled and cond.get("required", True):
            raise ComposeError(f'service "{sname}" depends on service "{dep}", whose profiles are not enabled')
    mode = svc.get("network_mode", "")
    if mode and svc.get("networks"):
        raise ComposeError(f"service {sname} declares mutually exclusive `network_mode` and `networks`")
    if mode.startswith("service:") and mode[8:] not in services:
        raise ComposeError(f'service "{sname}" depends on undefined service "{mode[8:]}"', f"{where}.network_mode")
    for net in svc.get("networks", {}):
        if net not in networks:
            raise ComposeError(f'service "{sname}" refers to undefined network {net}: invalid compose project')
    for n, vol in enumerate(svc.get("volumes", [])):
        if vol["type"] == "volume" and vol.get("source") and vol["source"] not in tree.get("volumes", {}):
            raise ComposeError(f'service "{sname}" refers to undefined volume {vol["source"]}: invalid compose project',
                               f"{where}.volumes[{n}]")
    for kind in ("secrets", "configs"):
        for ref in svc.get(kind, []):
            if ref["source"] not in tree.get(kind, {}):
                raise ComposeError(f'service "{sname}" refers to undefined {kind[:-1]} {ref["source"]}: '
                                   "invalid compose project")
    replicas = svc.get("deploy", {}).get("replicas", svc.get("scale", 1))
    if replicas < 0:
        raise ComposeError("must not be negative", f"{where}.deploy.replicas")
    if svc.get("container_name") and replicas > 1:
        raise ComposeError(f'services.deploy.replicas: can\'t set container_name and {sname} as container name must '
                           f"be unique: invalid compose project")


def _service(sname: str, svc: dict[str, Any]) -> Service:
    attachments = []
    if not svc.get("network_mode"):
        nets = svc.get("networks") or {"default": None}
        for key, cfg in nets.items():
            cfg = cfg or {}
            attachments.append(Attachment(network=key, aliases=cfg.get("aliases", []),
                                          ipv4_address=cfg.get("ipv4_address", ""), priority=cfg.get("priority", 0)))
        attachments.sort(key=lambda a: -a.priority)  # stable: file order among equal priorities
    grace = svc.get("stop_grace_period")
    return Service(name=sname, config=svc, image=svc.get("image", ""),
                   replicas=svc.get("deploy", {}).get("replicas", svc.get("scale", 1)),
                   depends_on={k: v["condition"] for k, v in svc.get("depends_on", {}).items()},
                   networks=attachments, network_mode=svc.get("network_mode", ""), profiles=svc.get("profiles", []),
                   container_name=svc.get("container_name", ""),
                   stop_timeout=round(check.duration(grace, "stop_grace_period")) if grace else None,
                   config_hash=labels.config_hash(svc))


def _network(key: str, cfg: dict[str, Any], project: str) -> Network:
    pools = cfg.get("ipam", {}).get("config") or [{}]
    external = bool(cfg.get("external"))
    return Network(key=key, name=cfg.get("name") or (key if external else f"{project}_{key}"), external=external,
                   internal=bool(cfg.get("internal")), subnet=pools[0].get("subnet", ""),
                   gateway=pools[0].get("gateway", ""), labels=cfg.get("labels", {}))
