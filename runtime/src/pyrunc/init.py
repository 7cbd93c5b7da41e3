"""What runs inside the new process before execve. Order matters; it is all here.

container_init: a new container's pid 1 (runc's standard init).
exec_init: a process joining a running container (runc's setns init).
Both report failures to the parent through the channel, and end in execve; once `create`
has let go, container_init reports a failed execve to `start` through the exec fifo.
"""

import os

from . import launch, linux, mounts
from . import process as proc_setup
from .errors import PyruncError, reason


class InitPlan:
    """Everything init needs beyond the spec, fixed by the parent before fork."""

    def __init__(self, cid, spec, process, rootfs, bundle, *, no_pivot=False, console_fd=None, fifo_fd=None,
                 cgroup=None, preserve_fds=0, hooks_sync=False, no_new_keyring=False):
        self.cid = cid
        self.spec = spec
        self.process = process
        self.rootfs = rootfs
        self.bundle = bundle
        self.no_pivot = no_pivot
        self.console_fd = console_fd
        self.fifo_fd = fifo_fd
        self.cgroup = cgroup
        self.preserve_fds = preserve_fds
        self.hooks_sync = hooks_sync
        self.no_new_keyring = no_new_keyring
        self.host_pid = None
        # set by exec for a container in the caller's mount namespace: setns cannot put us in its root
        self.root_fd = None
        # set by the parent when the process joins a running container
        self.seccomp = spec.linux.seccomp if spec else None
        self.lsm_attrs = _lsm_attrs(process)


def _lsm_attrs(process):
    """What to write to /proc/self/attr before execve (lsm.validate has refused what the kernel lacks)."""
    if not (process.apparmor_profile or process.selinux_label):
        return []
    from . import lsm

    return lsm.exec_attrs(process.apparmor_profile, process.selinux_label)


def preload(plan):
    """Import, in the parent, every module init will use.

    After pivot_root the container's filesystem is all there is: a lazy import
    of ours (or of the stdlib) inside init would not find its file.
    """
    import fcntl  # noqa: F401 - loaded for init's sake
    import resource  # noqa: F401

    import prctl  # noqa: F401

    from . import capabilities  # noqa: F401

    proc = plan.process
    if plan.seccomp is not None:
        from . import seccomp  # noqa: F401
    if plan.spec.hooks.create_container or plan.spec.hooks.start_container:
        from . import hooks  # noqa: F401
    if proc.terminal:
        import socket  # noqa: F401
        import struct  # noqa: F401
    if any(m.type == "cgroup" for m in plan.spec.mounts):
        from . import cgroups  # noqa: F401
    if plan.lsm_attrs or plan.spec.linux.mount_label:
        from . import lsm  # noqa: F401


class _MountContext:
    def __init__(self, bundle, cgroup, new_cgroupns, new_netns, join_cgroup, mount_label=None):
        self.bundle = bundle
        self.mount_label = mount_label
        self.cgroup = cgroup
        self.new_cgroupns = new_cgroupns
        self.new_netns = new_netns
        self.late_readonly = []
        self._join = join_cgroup
        self._joined = False

    def join_cgroup(self):
        """Once: mounts before this ran while the parent was still moving us into the cgroup."""
        if not self._joined:
            self._join()
            self._joined = True


def container_init(plan, ch):
    # the host's /proc is still mounted: its "self" is our pid as the host sees it (hooks report it)
    plan.host_pid = int(os.readlink("/proc/self"))
    if not plan.no_new_keyring:
        try:
            # possessor: all; user: view, read, link, setattr... as runc sets it
            linux.join_session_keyring(f"_ses.{plan.cid}", 0x3F1B0000)
        except OSError as e:
            if e.errno not in (38, 1):  # ENOSYS, EPERM: no keyrings here (runc also goes on)
                raise
    spec = plan.spec
    lx = spec.linux
    kinds = {n.type for n in lx.namespaces}
    new = {n.type for n in lx.namespaces if not n.path}
    rootfs = plan.rootfs

    mounts.prepare_root(rootfs, lx.rootfs_propagation, own_namespace="mount" in kinds)
    mctx = _MountContext(plan.bundle, plan.cgroup, "cgroup" in new, "network" in kinds,
                         lambda: launch.init_cgroup(ch, "cgroup" in new), lx.mount_label)
    for i, m in enumerate(spec.mounts):
        mounts.mount_one(rootfs, m, i, mctx)
    if mounts.needs_dev_setup(spec.mounts):
        mounts.create_devices(rootfs, lx.devices, "user" in kinds)
    if plan.hooks_sync:
        mctx.join_cgroup()  # hooks may look at the container's cgroup
        # prestart/createRuntime run in the parent now, createContainer here, both before pivot_root
        ch.send(type="hooks")
        msg = ch.recv()
        if not msg or msg.get("type") != "hooks-done":
            os._exit(1)  # the parent has failed the create and will clean up
        if spec.hooks.create_container:
            from . import hooks

            hooks.run(spec.hooks.create_container, msg["state"], "createContainer")
    if "mount" not in kinds:
        # the caller's mount namespace: moving our root over its / (runc's --no-pivot) would replace the host's
        mounts.chroot_root(rootfs)
    elif plan.no_pivot:
        mounts.move_root(rootfs)
    else:
        mounts.pivot_root(rootfs)

    proc = plan.process
    if proc.terminal:
        _setup_console(plan, bind_console=True)
    for path in mctx.late_readonly:
        mounts.remount_readonly("/" + os.path.relpath(path, rootfs))
    if not os.path.isdir(proc.cwd):
        try:
            os.makedirs(proc.cwd, 0o755, exist_ok=True)  # runc creates a missing cwd
        except OSError as e:
            why = "not a directory" if e.errno == 17 else reason(e)  # EEXIST: a file is in the way
            raise PyruncError(f"process.cwd: mkdir {proc.cwd}: {why}") from None
    if spec.root.readonly:
        mounts.remount_readonly("/")
    mounts.set_root_propagation(lx.rootfs_propagation)
    if spec.hostname:
        linux.sethostname(spec.hostname)
    if spec.domainname:
        linux.setdomainname(spec.domainname)
    for key, value in lx.sysctl.items():
        try:
            with open("/proc/sys/" + key.replace(".", "/"), "w") as f:
                f.write(value)
        except OSError as e:
            raise PyruncError(f"linux.sysctl.{key}: cannot set {value!r}: {e.strerror}") from None
    mounts.readonly_paths(lx.readonly_paths)
    mounts.mask_paths(lx.masked_paths)
    if proc.oom_score_adj is not None:
        proc_setup.set_oom_score_adj(proc.oom_score_adj)

    # the cgroup namespace needs CAP_SYS_ADMIN and unshare, which _finalize's cap drop and seccomp take away
    mctx.join_cgroup()
    exe, env = _finalize(plan)
    ch.send(type="ready")
    # held here until `start` opens the fifo for reading
    fifo = os.open(f"/proc/self/fd/{plan.fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
    failure = None
    if spec.hooks.start_container:
        from . import hooks

        try:
            hooks.run(spec.hooks.start_container, _created_state(plan), "startContainer")
        except PyruncError as e:
            failure = str(e)
    os.write(fifo, b"0" if failure is None else b"E" + failure.encode())
    if failure is not None:
        os._exit(1)
    # the fifo stays open (close-on-exec) until execve: `start` waits for that, so a
    # failed execve (ENOEXEC, E2BIG, a missing interpreter) is its error, not a silent exit 1
    try:
        _exec(plan, exe, env)
    except BaseException as e:  # noqa: B036 - reported, then we die
        _report_exec_failure(fifo, e)
    os._exit(1)


def exec_init(plan, ch):
    """Join done by the intermediate (setns put us in the container's root): set up and exec."""
    if plan.root_fd is not None:
        # runc 1.1.5 leaves such an exec in the host's root: the container's is where it belongs
        os.fchdir(plan.root_fd)
        os.chroot(".")
        os.chdir("/")
    launch.init_cgroup(ch, False)
    container_oom = plan.spec.process.oom_score_adj
    if container_oom is not None:
        # as runc: an exec gets the container's value (CRI sets 1000), set while we may still lower it
        proc_setup.set_oom_score_adj(container_oom)
    if plan.process.terminal:
        _setup_console(plan, bind_console=False)
    exe, env = _finalize(plan)
    _exec(plan, exe, env)


def _setup_console(plan, bind_console):
    if plan.console_fd is None:
        raise PyruncError("process.terminal is set but no --console-socket was given")
    master, slave = proc_setup.open_pty()
    if plan.process.console_size:
        proc_setup.set_winsize(master, plan.process.console_size.height, plan.process.console_size.width)
    if bind_console:
        if not os.path.exists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        linux.mount(slave, "/dev/console", "bind", linux.MS_BIND)
    proc_setup.send_console(plan.console_fd, master)
    os.close(master)
    os.close(plan.console_fd)
    proc_setup.become_console_owner(slave)


def _finalize(plan):
    """rlimits, privileges, user, cwd: the common tail of both inits. Returns (exe, env)."""
    proc = plan.process
    if plan.lsm_attrs:
        from . import lsm

        lsm.apply_exec_attrs(plan.lsm_attrs)  # before privileges go, as runc; the kernel applies them at execve
    proc_setup.set_rlimits(proc.rlimits)
    if proc.no_new_privileges:
        import prctl

        prctl.set_no_new_privs(1)
    from . import capabilities
    from .spec import Capabilities

    # no capabilities section means no capabilities at all, as runc
    caps = proc.capabilities if proc.capabilities is not None else Capabilities()
    capabilities.prepare(caps)
    if plan.seccomp is not None and not proc.no_new_privileges:
        # without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the switch may drop
        from . import seccomp

        seccomp.load(plan.seccomp)
    proc_setup.switch_user(proc.user)
    capabilities.finish(caps)
    os.umask(proc.user.umask if proc.user.umask is not None else 0o022)
    try:
        os.chdir(proc.cwd)
    except OSError as e:
        raise PyruncError(f"process.cwd: chdir to cwd ({proc.cwd!r}) set in config.json failed: "
                          f"{reason(e)}") from None
    env = proc_setup.env_with_home(proc.env, proc.user.uid)
    exe = proc_setup.find_executable(proc.args[0], env)
    proc_setup.close_extra_fds(3 + plan.preserve_fds + _listen_fds(env))
    return exe, env


def _listen_fds(env):
    for e in env:
        if e.startswith("LISTEN_FDS="):
            try:
                return int(e[11:])
            except ValueError:
                return 0
    return 0


def _exec(plan, exe, env):
    if plan.seccomp is not None and plan.process.no_new_privileges:
        from . import seccomp

        seccomp.load(plan.seccomp)
    try:
        os.execve(exe, plan.process.args, _env_dict(env))
    except OSError as e:
        from .errors import ContainerProcessError

        # runc's words (Go's os.PathError): "exec /bin/x: exec format error"
        raise ContainerProcessError(f"exec {exe}: {reason(e)}") from None


def _report_exec_failure(fifo, exc):
    """Tell `start` why (after "0", so it knows the program never ran); runc's fallback: our stderr."""
    text = str(launch.process_error(exc))
    try:
        os.write(fifo, b"E" + text.encode())
    except OSError:
        try:
            os.write(2, text.encode() + b"\n")
        except OSError:
            pass


def _env_dict(env):
    out = {}
    for e in env:
        k, _, v = e.partition("=")
        out[k] = v
    return out


def _created_state(plan):
    """startContainer hooks run before the user's program: the container is still "created"."""
    return {"ociVersion": plan.spec.oci_version, "id": plan.cid, "pid": plan.host_pid, "status": "created",
            "bundle": plan.bundle, "annotations": plan.spec.annotations}
