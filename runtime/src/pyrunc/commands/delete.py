"""`pyrunc delete`: remove a stopped (or, with --force, any) container."""

from ..container import CREATED, STOPPED, Container
from ..errors import DELETE_NOT_STOPPED, NotExistError, PyruncError
from .kill import kill_all_and_wait


def delete(ctx, args, force=False):
    try:
        c = Container.load(ctx.root, args[0])
    except NotExistError:
        if force:
            return  # runc: deleting what is not there is done
        raise
    status = c.status()
    if status != STOPPED:
        if status != CREATED and not force:
            c.unlock()
            raise PyruncError(DELETE_NOT_STOPPED.format(id=c.id, status=status))
        kill_all_and_wait(c)
    destroy(c, ctx.log)


def destroy(c, log):
    """Remove the cgroup, mounts init made in ours and the state dir, then run poststop hooks (failures warn)."""
    spec = c.spec() if "poststop" in c.state["hooks"] else None
    c.cgroup().destroy()
    if "rootfs_mount" in c.state:
        from ..mounts import release_rootfs

        release_rootfs(c.state["rootfs"], c.state["rootfs_mount"])
    state = c.oci_state(status=STOPPED)
    c.remove_dir()
    if spec is not None:
        from .. import hooks

        try:
            hooks.run(spec.hooks.poststop, state, "poststop")
        except PyruncError as e:
            log.warning(str(e))
