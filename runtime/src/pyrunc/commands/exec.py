"""`pyrunc exec`: run a new process inside a running container."""

import os

from .. import jsonio, launch
from ..container import PAUSED, Container
from ..errors import ConfigError, PyruncError, UsageError
from .create import absolute, write_pid_file

EXEC_FAILED = 255  # runc's exit code when exec itself fails


def exec_process(ctx, args, console_socket=None, cwd=None, env=(), tty=False, user=None, additional_gids=(),
                 process=None, detach=False, pid_file=None, process_label=None, apparmor=None,
                 no_new_privs=False, cap=(), preserve_fds=None, cgroup=(), ignore_paused=False):
    try:
        return _exec(ctx, args, console_socket, cwd, env, tty, user, additional_gids, process, detach,
                     absolute(pid_file), no_new_privs, cap, preserve_fds or 0, cgroup, ignore_paused,
                     apparmor, process_label)
    except PyruncError as e:
        e.exit_code = EXEC_FAILED
        raise


def _exec(ctx, args, console_socket, cwd, env, tty, user, additional_gids, process_file, detach, pid_file,
          no_new_privs, cap, preserve_fds, cgroup_paths, ignore_paused, apparmor, process_label):
    from ..init import InitPlan, exec_init, preload

    if cgroup_paths:
        raise UsageError("--cgroup: sub-cgroups for exec are not supported by pyrunc")
    c = Container.load(ctx.root, args[0])
    try:
        if not (ignore_paused and c.status() == PAUSED):
            c.require("exec")
        spec = c.spec()
        if process_file:
            proc = load_process_file(process_file)
        else:
            proc = process_from_args(spec.process, args[1:], cwd, env, tty, user, additional_gids, cap,
                                     no_new_privs)
        if apparmor:
            proc.apparmor_profile = apparmor
        if process_label:
            proc.selinux_label = process_label
        _validate(proc, apparmor, process_label)
        if spec.linux.seccomp is not None:
            from .. import seccomp

            seccomp.validate(spec.linux.seccomp)  # compiles here, where libseccomp's refusals can be reported
        proxy = None
        console = None
        console_fd = None
        if proc.terminal:
            if console_socket:
                from ..process import connect_console_socket

                console = connect_console_socket(os.path.abspath(console_socket))
                console_fd = console.fileno()
            elif detach:
                raise PyruncError("cannot allocate tty if pyrunc will detach without setting console socket")
            else:
                from ..console import ConsoleSocketPair

                proxy = ConsoleSocketPair()
                console_fd = proxy.theirs.fileno()
        elif console_socket:
            raise PyruncError("cannot use console socket if pyrunc will not detach or allocate tty")
        plan = InitPlan(c.id, spec, proc, None, c.state["bundle"], console_fd=console_fd,
                        preserve_fds=preserve_fds)
        if spec.linux.namespace("mount") is None:
            plan.root_fd = os.open(f"/proc/{c.pid}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        preload(plan)
        try:
            pid, ch = launch.spawn(launch.Namespaces.of_process(c.pid), lambda ch: exec_init(plan, ch),
                                   cgroup=c.cgroup())
        finally:
            if plan.root_fd is not None:
                os.close(plan.root_fd)
        try:
            msg = ch.recv()  # nothing but EOF means the program is exec'd
        finally:
            ch.close()
            if console is not None:
                console.close()
        if msg is not None:
            launch.kill_and_reap(pid)
            raise PyruncError(msg.get("msg", str(msg)))
        master = proxy.receive_master() if proxy else None
        if pid_file:
            write_pid_file(pid_file, pid)
    finally:
        c.unlock()
    if detach:
        return 0
    from .run import wait_forwarding_signals

    return wait_forwarding_signals(pid, master)


def load_process_file(path):
    from .. import spec as spec_mod

    try:
        with open(path, "rb") as f:
            obj = jsonio.loads(f.read())
    except OSError as e:
        raise UsageError(f"--process: {path}: {e.strerror}") from None
    except ValueError as e:
        raise ConfigError(f"--process: {path}: invalid JSON: {e}") from None
    return spec_mod.from_dict(spec_mod.Process, obj, "process")


def process_from_args(base, argv, cwd, env, tty, user, additional_gids, caps, no_new_privs):
    """runc's getProcess: the container's process with this exec's overrides."""
    import copy

    from .. import spec as spec_mod

    if not argv:
        raise UsageError("exec: no command given (pass it after the container id, or use --process)")
    proc = copy.deepcopy(base)
    proc.args = list(argv)
    proc.env = list(proc.env) + list(env)
    proc.terminal = tty
    proc.console_size = None
    if cwd:
        proc.cwd = cwd
    if user:
        uid, _, gid = user.partition(":")
        proc.user.uid = _id(uid, "--user", user)
        if gid:
            proc.user.gid = _id(gid, "--user", user)
    if additional_gids:
        proc.user.additional_gids = [_id(g, "--additional-gids", g) for g in additional_gids]
    if caps:
        if proc.capabilities is None:
            proc.capabilities = spec_mod.Capabilities()
        for kind in ("bounding", "effective", "permitted"):
            current = getattr(proc.capabilities, kind) or []
            setattr(proc.capabilities, kind, current + [c for c in caps if c not in current])
    if no_new_privs:
        proc.no_new_privileges = True
    return proc


def _id(text, flag, given):
    from ..record import ID_BOUNDS, ID_RANGE

    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{flag}: expected numeric ids, got {given!r}") from None
    if not ID_BOUNDS[0] <= value <= ID_BOUNDS[1]:
        raise UsageError(f"{flag}: {ID_RANGE}, got {given!r}")
    return value


def _validate(proc, apparmor_flag, label_flag):
    from ..process import validate_rlimits

    if proc.apparmor_profile or proc.selinux_label:
        from .. import lsm

        lsm.validate({"apparmor": "--apparmor" if apparmor_flag else "process.apparmorProfile",
                      "selinux": "--process-label" if label_flag else "process.selinuxLabel"},
                     proc.apparmor_profile, proc.selinux_label)

    if not proc.args:
        raise ConfigError("process.args: must contain at least one argument")
    if not os.path.isabs(proc.cwd):
        raise ConfigError(f"process.cwd: must be an absolute path, got {proc.cwd!r}")
    validate_rlimits(proc.rlimits)
    if proc.capabilities is not None:
        from .. import capabilities

        capabilities.validate(proc.capabilities)
