"""`commit`: the container's changes (its upper dir) as a new image over its own, made by the images.

The containers do not import the images: the service gives a MakeImage (committing.image_maker) that
turns the upper dir, the image id and the config worked out here into the new image's id. As docker
does, a running container is paused while its files are read (unless the caller says not to), and the
config is the container's own: its command, environment, working directory and user, over its image's.
The files made only to mount over (ops/diff.py) are left out of the layer.
"""

from pathlib import Path
from typing import Any, Protocol

from ...errors import Conflict
from ..context import Context
from ..types import Record, Status
from . import pause as pause_op
from .diff import MOUNT_PLACEHOLDERS


class MakeImage(Protocol):
    async def __call__(self, *, upper: Path, parent: str, config: dict[str, Any], created_by: str,
                       placeholders: frozenset[str]) -> str: ...


def container_config(rec: Record) -> dict[str, Any]:
    """The image config's `config` docker's commit starts from: the container's, over its image's."""
    image = dict(rec.config.image_config.get("config") or {})
    p, s = rec.config.process, rec.config.settings
    image_entrypoint = list(image.get("Entrypoint") or [])
    if image_entrypoint and p.args[:len(image_entrypoint)] == image_entrypoint:
        entrypoint, cmd = image_entrypoint, p.args[len(image_entrypoint):]
    elif image_entrypoint:  # --entrypoint replaced it: one word, then the command
        entrypoint, cmd = p.args[:1], p.args[1:]
    else:
        entrypoint, cmd = None, p.args
    # what the daemon adds at start is not the container's config (docker adds them to the spec only)
    added = {f"HOSTNAME={s.hostname}", *(["TERM=xterm"] if p.tty else [])}
    config = {**image, "Env": [e for e in p.env if e not in added], "Entrypoint": entrypoint, "Cmd": cmd or None,
              "User": p.user, "Labels": {**(image.get("Labels") or {}), **s.labels}}
    # `-v /path` volumes are the container's config in docker (Config.Volumes), named ones its host's
    anonymous = [m.destination for m in rec.config.mounts if m.type == "volume" and m.anonymous]
    if anonymous:
        config["Volumes"] = {**(image.get("Volumes") or {}), **{v: {} for v in anonymous}}
    if p.cwd != "/" or image.get("WorkingDir"):
        config["WorkingDir"] = p.cwd
    if p.stop_signal != "SIGTERM" or image.get("StopSignal"):
        config["StopSignal"] = p.stop_signal
    return config


async def commit(ctx: Context, text: str, make: MakeImage, pause: bool = True) -> str:
    """The new image's id."""
    rec = ctx.get(text)
    if rec.status == Status.REMOVING:
        raise Conflict(f"You cannot commit container {rec.id} which is being removed")
    paused_here = pause and rec.status == Status.RUNNING
    if paused_here:
        await pause_op.pause(ctx, rec.id)
    config = container_config(rec)
    try:
        # docker's history line for a commit: the container's Cmd, without its Entrypoint
        image_id = await make(upper=ctx.dir(rec.id) / "upper", parent=rec.image_id, config=config,
                              created_by=" ".join(config["Cmd"] or []),
                              placeholders=frozenset(p.lstrip("/") for p in MOUNT_PLACEHOLDERS))
    finally:
        if paused_here:
            await pause_op.unpause(ctx, rec.id)
    ctx.runtime.announce("commit", rec, imageID=image_id)
    return image_id
