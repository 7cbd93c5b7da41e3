"""`pyrunc create`: set the container up and hold its process before the user's program."""

import os

from .. import launch
from ..container import EXEC_FIFO, Container, timestamp_now, validate_id
from ..errors import ConfigError, PyruncError, reason


def create(ctx, args, bundle=None, console_socket=None, pid_file=None, no_pivot=False, no_new_keyring=False,
           preserve_fds=None, detach=False):
    # --detach is what go-runc sends; create always detaches
    validate_id(args[0])
    pid_file, console_socket = absolute(pid_file), absolute(console_socket)
    c = create_container(ctx, args[0], load_bundle(bundle), console_socket=console_socket, pid_file=pid_file,
                         no_pivot=no_pivot, preserve_fds=preserve_fds or 0, no_new_keyring=no_new_keyring)
    c.unlock()


def load_bundle(bundle):
    """chdir into the bundle (as runc) and parse its config; returns (abs bundle, raw config, Spec).

    Paths the caller got relative to its cwd (pid file, console socket) must be made absolute first.
    """
    from .. import spec as spec_mod

    bundle = os.path.abspath(bundle or ".")
    try:
        os.chdir(bundle)
    except OSError as e:
        raise PyruncError(f"chdir {bundle}: {reason(e)}") from None
    try:
        with open("config.json", "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConfigError("JSON specification file config.json not found") from None
    spec = spec_mod.parse(raw)
    if spec.process is None:
        raise ConfigError("process: required field is missing")
    return bundle, raw, spec


CONFIG_LSM_FIELDS = {"apparmor": "process.apparmorProfile", "selinux": "process.selinuxLabel",
                     "mount": "linux.mountLabel"}


def validate_for_create(spec, rootfs, console_socket):
    from .. import mounts
    from ..process import validate_rlimits

    if not os.path.isdir(rootfs):
        raise ConfigError(f"root.path: rootfs ({rootfs}) does not exist")
    _check_joined_namespaces(spec)
    if spec.process.terminal and not console_socket:
        raise PyruncError("cannot allocate tty if pyrunc will detach without setting console socket")
    if not spec.process.terminal and console_socket:
        raise PyruncError("cannot use console socket if pyrunc will not detach or allocate tty")
    validate_rlimits(spec.process.rlimits)
    mounts.validate_options(spec.mounts)
    if spec.process.apparmor_profile or spec.process.selinux_label or spec.linux.mount_label:
        from .. import lsm

        lsm.validate(CONFIG_LSM_FIELDS, spec.process.apparmor_profile, spec.process.selinux_label,
                     spec.linux.mount_label)
    if spec.process.capabilities is not None:
        from .. import capabilities

        capabilities.validate(spec.process.capabilities)
    if spec.linux.seccomp is not None:
        from .. import seccomp

        seccomp.validate(spec.linux.seccomp)


def _check_joined_namespaces(spec):
    """Each path opens, and hostname and sysctls are not set in a path that is our own namespace."""
    from .. import spec as spec_mod
    from ..linux import NAMESPACE_PROC_NAMES

    for i, ns in enumerate(spec.linux.namespaces):
        if not ns.path or ns.type not in ("uts", "network", "ipc"):
            continue
        try:
            theirs = os.stat(ns.path)
        except OSError as e:
            raise ConfigError(f"linux.namespaces[{i}].path: open {ns.path}: {reason(e)}") from None
        ours = os.stat(f"/proc/self/ns/{NAMESPACE_PROC_NAMES[ns.type]}")
        if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
            spec_mod.refuse_shared_namespace(spec, ns.type)


def create_container(ctx, cid, loaded, *, console_socket=None, pid_file=None, no_pivot=False, preserve_fds=0,
                     console_fd=None, no_new_keyring=False):
    """Everything `create` does; returns the Container, still locked.

    On any failure nothing is left: no process, cgroup, state dir.
    """
    from ..init import InitPlan, container_init, preload

    bundle, raw, spec = loaded
    rootfs = os.path.join(bundle, spec.root.path)
    validate_for_create(spec, rootfs, console_socket or console_fd)
    lx = spec.linux

    # without a mount namespace, init's mounts land in ours, under the one it binds over rootfs
    caller_rootfs_mount = None if lx.namespace("mount") is not None else _mount_id(rootfs)
    c = Container.new(ctx.root, cid, None)
    cgroup = None
    init_pid = None
    console = None
    try:
        c.write_private("config.json", raw)
        os.mkfifo(c.path(EXEC_FIFO), 0o622)
        # init, maybe root of a user namespace (another host uid), opens it for writing
        os.chown(c.path(EXEC_FIFO), _host_id(lx.uid_mappings), _host_id(lx.gid_mappings))
        os.chmod(c.path(EXEC_FIFO), 0o622)
        fifo_fd = os.open(c.path(EXEC_FIFO), os.O_PATH | os.O_CLOEXEC)
        from .. import cgroups

        cgroups.set_logger(ctx.log)
        cgroup = cgroups.open_for_container(lx.cgroups_path, cid, ctx.systemd_cgroup)
        cgroup.create()
        cgroup.apply(lx.resources)
        if console_socket:
            from ..process import connect_console_socket

            console = connect_console_socket(console_socket)
            console_fd = console.fileno()
        hooks = spec.hooks
        plan = InitPlan(cid, spec, spec.process, rootfs, bundle, no_pivot=no_pivot, console_fd=console_fd,
                        fifo_fd=fifo_fd, cgroup=cgroup, preserve_fds=preserve_fds, no_new_keyring=no_new_keyring,
                        hooks_sync=bool(hooks.prestart or hooks.create_runtime or hooks.create_container))
        preload(plan)
        created = timestamp_now()
        c.state = {
            "oci_version": spec.oci_version, "pid": 0, "pid_start": 0, "bundle": bundle, "rootfs": rootfs,
            "created": created, "annotations": spec.annotations, "cgroup": cgroup.to_state(),
            "hooks": [k for k in ("poststart", "poststop") if getattr(hooks, k)],
        }
        init_pid, ch = launch.spawn(launch.Namespaces.from_spec(lx), lambda ch: container_init(plan, ch),
                                    cgroup=cgroup, id_maps=(lx.uid_mappings, lx.gid_mappings))
        try:
            c.state["pid"] = init_pid
            launch.wait_message(ch, "hooks" if plan.hooks_sync else "ready")
            if plan.hooks_sync:
                state = c.oci_state(status="creating")
                state["pid"] = init_pid
                _run_create_hooks(spec, state)
                ch.send(type="hooks-done", state=state)
                launch.wait_message(ch, "ready")
        finally:
            ch.close()
            os.close(fifo_fd)
        from ..container import process_start_time

        c.state["pid_start"], _ = process_start_time(init_pid)
        if caller_rootfs_mount is not None and _mount_id(rootfs) != caller_rootfs_mount:
            c.state["rootfs_mount"] = _mount_id(rootfs)  # delete detaches it
        c.save()
        if pid_file:
            write_pid_file(pid_file, init_pid)
        return c
    except BaseException:
        if init_pid:
            launch.kill_and_reap(init_pid)
        if cgroup is not None:
            cgroup.destroy()
        if caller_rootfs_mount is not None:
            _release_init_mounts(rootfs, caller_rootfs_mount)
        state = c.oci_state(status="stopped") if c.state else None
        c.remove_dir()
        if init_pid and spec.hooks.poststop:
            # a failed create still ends the lifecycle: poststop runs, its failures only warn
            from .. import hooks

            try:
                hooks.run(spec.hooks.poststop, state, "poststop")
            except PyruncError as e:
                ctx.log.warning(str(e))
        raise
    finally:
        if console is not None:
            console.close()


def _run_create_hooks(spec, state):
    from .. import hooks

    # prestart is deprecated but still runs, before createRuntime (runtime spec)
    hooks.run(spec.hooks.prestart, state, "prestart")
    hooks.run(spec.hooks.create_runtime, state, "createRuntime")


def _mount_id(path):
    from ..mounts import mount_id

    return mount_id(path)


def _release_init_mounts(rootfs, caller_mount):
    """A failed create in the caller's mount namespace: detach whatever init bound over rootfs."""
    from ..mounts import release_rootfs

    try:
        top = _mount_id(rootfs)
    except FileNotFoundError:
        return
    if top != caller_mount:
        release_rootfs(rootfs, top)


def _host_id(mappings):
    """The host id that container id 0 maps to (0 without a user namespace)."""
    for m in mappings:
        if m.container_id == 0:
            return m.host_id
    return 0


def absolute(path):
    return os.path.abspath(path) if path else path


def write_pid_file(path, pid):
    """Atomically, as runc: engines poll for this file."""
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)

