"""A service's build, for compose build and the builds `up` asks for: each service's build section through the daemon's build API,
its image tagged with the service's image name (PROJECT-SERVICE when it has none)."""

from __future__ import annotations

import os
import sys

from ..compose.convert import image_name
from ..compose.errors import ComposeError
from ..compose.progress import event

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..api import Api
    from ..api.types import BuildOptions
    from ..compose.model import Project, Service


def _options(project: Project, svc: Service, *, no_cache: bool, pull: bool) -> BuildOptions:
    cfg = svc.config["build"]
    args = {k: v if v is not None else project.environment.get(k) for k, v in cfg.get("args", {}).items()}
    options: BuildOptions = {"tags": [image_name(project, svc)], "build_args": {k: v for k, v in args.items() if v is not None},
                             "target": cfg.get("target", ""), "no_cache": no_cache, "pull": pull}
    dockerfile = os.path.join(cfg["context"], cfg.get("dockerfile", "Dockerfile"))
    inside = os.path.relpath(dockerfile, cfg["context"])
    if not os.path.isfile(dockerfile):
        raise ComposeError(f"failed to solve: failed to read dockerfile: open {dockerfile}: no such file or directory",
                           f"services.{svc.name}.build")
    if inside.startswith(".."):
        with open(dockerfile, "rb") as f:
            options["dockerfile_content"] = f.read()
    else:
        options["dockerfile"] = inside
    return options


def build_service(api: Api, project: Project, svc: Service, *, no_cache: bool = False, pull: bool = False,
                  quiet: bool = False) -> str:
    """Build one service's image; its id. The builder's steps and output go to stderr, as compose's progress."""
    from .build import directory_context

    context = svc.config["build"]["context"]
    if not os.path.isdir(context):
        raise ComposeError(f'build context "{context}" is not a directory', f"services.{svc.name}.build.context")
    options = _options(project, svc, no_cache=no_cache, pull=pull)
    event("Service", svc.name, "Building")
    stream = api.build.build(options, directory_context(context, options.get("dockerfile") or "Dockerfile"))
    image_id = ""
    try:
        for reply in stream:
            kind = reply.WhichOneof("event")
            if reply.failure is not None:  # set only when it is the event
                raise ComposeError(f'service "{svc.name}" failed to build: {reply.failure.message}')
            if kind == "image_id":
                image_id = reply.image_id
            elif quiet or kind is None:
                continue
            elif kind == "output":
                sys.stderr.buffer.write(reply.output)
                sys.stderr.buffer.flush()
            elif kind == "tagged":
                sys.stderr.write(f"Successfully tagged {reply.tagged}\n")
            else:
                sys.stderr.write(getattr(reply, kind) + "\n")
    except KeyboardInterrupt:
        stream.cancel()  # the daemon stops the build and removes what it was making
        raise
    if not image_id:
        raise ComposeError(f'service "{svc.name}": the build ended without an image')
    event("Service", svc.name, "Built")
    return image_id
