"""`create`: every flag checked, the record saved, the network leased; nothing runs yet."""

import contextlib
import logging
import os
import shutil

from ...clock import rfc3339
from ...errors import InvalidArgument
from ...fsutil import private_dir
from ...volumes import mounts as vmounts
from .. import hostconfig
from .. import spec as specs
from ..context import Context
from ..types import Config, CreateOptions, Record

log = logging.getLogger("pyruncd.containers")


def create(ctx: Context, o: CreateOptions) -> Record:
    img = ctx.images.lookup(o.image)
    image_config = ctx.images.config(img).doc
    network, net = ctx.networks.validate(o.network, o, image_config)
    specs.check_sysctls(o.sysctls, network)
    runtime = o.runtime or "pyrunc"
    if runtime not in ctx.shims.runtimes:
        raise InvalidArgument(f"unknown or invalid runtime name: {runtime}")
    cid = os.urandom(32).hex()
    name = ctx.store.check_name(o.name) if o.name else ctx.store.new_name(cid)
    hostname = o.hostname or (os.uname().nodename if network == "host" else cid[:12])
    proc = specs.resolve_process(image_config, cmd=o.cmd, entrypoint=o.entrypoint,
                                 entrypoint_set=o.entrypoint_set, env=o.env, workdir=o.workdir, user=o.user,
                                 tty=o.tty, hostname=hostname, stop_signal=o.stop_signal,
                                 stop_timeout=o.stop_timeout if o.stop_timeout_set else None, group_add=o.group_add)
    labels = dict((image_config.get("config") or {}).get("Labels") or {})
    labels.update(o.labels)
    chain = [s.chain_id for s in ctx.snapshots.chain(img.top_chain_id)]
    host = hostconfig.resolve(o.host, image_config, o.auto_remove, ctx.log_defaults)
    mounts = vmounts.resolve(o.mounts, (image_config.get("config") or {}).get("Volumes") or {},
                             lambda other: ctx.get(other).config.mounts)
    ctx.volumes.place(mounts)
    settings = specs.Settings(hostname, network, runtime, labels, net, dict(o.sysctls))
    rec = Record(id=cid, name=name, image=o.image, image_id=img.id, created=rfc3339(), config=Config(
        process=proc, settings=settings, chain_ids=chain, auto_remove=o.auto_remove, open_stdin=o.open_stdin,
        image_config=image_config, mounts=mounts, host=host))
    d = private_dir(ctx.dir(cid))
    for sub in ("upper", "work", "bundle/rootfs"):
        (d / sub).mkdir(parents=True)
    try:
        ctx.store.insert(rec)
        ctx.volumes.attach(cid, mounts)
        ctx.networks.allocate(rec, d / "etc")
    except BaseException:
        with contextlib.suppress(Exception):
            ctx.networks.release(cid)
        with contextlib.suppress(Exception):
            ctx.store.delete(cid)
        shutil.rmtree(d, ignore_errors=True)
        raise
    ctx.hold_lease(rec)
    ctx.runtime.announce("create", rec)
    log.info("container created", extra={"id": cid, "container_name": name, "image": o.image})
    return rec
