"""What the compose sub-commands share: the project from the global flags, the services named."""

from __future__ import annotations

import argparse

from ..compose.errors import ComposeError
from ..compose.project import Options, load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..api import Api
    from ..api.types import RegistryAuth
    from ..compose.model import Project


def project_of(args: argparse.Namespace, *, explicit: list[str] | None = None) -> Project:
    """The project of -f/-p/--project-directory/--env-file/--profile; services named on the command line
    are enabled whatever their profiles (as docker compose does)."""
    opts = Options(files=args.compose_files, project_name=args.compose_project_name,
                   project_directory=args.compose_project_directory, env_files=args.compose_env_files,
                   profiles=list(args.compose_profiles))
    project = load(opts)
    wanted = [s for s in (explicit or []) if s in project.disabled]
    if wanted:
        opts.profiles = opts.profiles + [p for s in wanted for p in project.disabled[s].profiles]
        project = load(opts)
    return project


def project_or_name(args: argparse.Namespace) -> tuple[Project, bool]:
    """The project, or with -p and no file found an empty one of that name (down and ps work from labels
    alone, as docker compose's do); the flag says whether the model was read."""
    try:
        return project_of(args), True
    except ComposeError as e:
        if not args.compose_project_name or not str(e).startswith("no configuration file provided"):
            raise
    from ..compose.project import build, normalize_name

    name = normalize_name(args.compose_project_name)
    return build({}, name=name, working_dir="", config_files=[], env={}, profiles=[]), False


def check_services(project: Project, names: list[str]) -> list[str]:
    """The named services (all enabled ones when none is named); an unknown name is an error."""
    for name in names:
        if name not in project.all_services():
            raise ComposeError(f"no such service: {name}")
    return names or list(project.services)


def parse_scale(items: list[str], project: Project) -> dict[str, int]:
    out = {}
    for item in items:
        name, eq, n = item.partition("=")
        if not eq or not n.isdigit():
            raise ComposeError(f'invalid --scale "{item}": want SERVICE=N')
        if name not in project.all_services():
            raise ComposeError(f"no such service: {name}")
        out[name] = int(n)
    return out


def registry_auths() -> dict[str, RegistryAuth]:
    from .. import config

    try:
        creds = config.credentials()
    except ValueError as e:
        raise ComposeError(str(e)) from None
    return {host: {"username": u, "password": p, "identity_token": t} for host, (u, p, t) in creds.items()}


def ensure_images(api: Api, project: Project, services: list[str], *, build: bool = False) -> None:
    """Build or pull the images the services need: with `build` (up --build) every service that has a build
    section is built; otherwise as pull_policy says (missing, always, never, build), a missing image being
    built when the service has a build section, pulled when not."""
    from ..api import ApiError
    from ..compose.convert import image_name
    from ..compose.progress import event
    from .compose_build import build_service

    for name in services:
        svc = project.all_services()[name]
        policy = svc.config.get("pull_policy", "missing")
        image = image_name(project, svc)
        buildable = "build" in svc.config
        if buildable and (build or policy == "build"):
            build_service(api, project, svc)
            continue
        try:
            api.images.get(image)
            present = True
        except ApiError as e:
            if e.code != "NOT_FOUND":
                raise
            present = False
        if present and policy != "always":
            continue
        if buildable and not present:
            build_service(api, project, svc)
            continue
        if policy == "never":
            raise ComposeError(f"image {image} not found and pull_policy is never", f"services.{name}")
        event(name, "", "Pulling")
        for _ in api.images.pull(image, platform=svc.config.get("platform", ""), auths=registry_auths()):
            pass
        event(name, "", "Pulled")
