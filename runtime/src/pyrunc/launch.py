"""Starting a process inside namespaces: the parent's side of the fork dance.

    pyrunc (parent) --fork--> intermediate --unshare/setns, fork--> init (pid 1 of a new pid ns)

The intermediate exists because a new pid namespace only applies to children
of the process that made it. The parent writes user-namespace maps for it,
learns init's pid from it, then moves init into the cgroup while init already
sets up its mounts: the first move into a v1 cgroup waits for an RCU grace
period (8-16 ms here), the largest single cost of a start, so it runs in
parallel. Init waits for "joined" (init_cgroup below) before anything that
needs the cgroup: a cgroup namespace, hooks, and the user's program.
"""

import os

from . import jsonio, linux
from .errors import ContainerProcessError, PyruncError


class Channel:
    """One JSON object per line over a pair of pipes."""

    def __init__(self, rfd, wfd):
        self.rfd = rfd
        self.wfd = wfd
        self.buf = b""

    @classmethod
    def pair(cls):
        """(parent end, child end), every fd close-on-exec."""
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        return cls(up_r, down_w), cls(down_r, up_w)

    def send(self, **msg):
        os.write(self.wfd, jsonio.dumps(msg).encode() + b"\n")

    def recv(self):
        """The next message, or None when every writer has gone (or exec'd)."""
        while b"\n" not in self.buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return jsonio.loads(line)

    def close(self):
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


class Namespaces:
    """Which namespaces to create (unshare flags) and which to join (type -> path)."""

    def __init__(self, new=(), join=None):
        self.new = list(new)
        self.join = dict(join or {})

    @classmethod
    def from_spec(cls, linux_spec):
        ns = cls()
        for n in linux_spec.namespaces:
            if n.path:
                ns.join[n.type] = n.path
            else:
                ns.new.append(n.type)
        return ns

    @classmethod
    def of_process(cls, pid):
        """Every namespace of a running process that differs from ours (for exec)."""
        join = {}
        for kind, proc_name in linux.NAMESPACE_PROC_NAMES.items():
            theirs = f"/proc/{pid}/ns/{proc_name}"
            try:
                if os.stat(theirs).st_ino != os.stat(f"/proc/self/ns/{proc_name}").st_ino:
                    join[kind] = theirs
            except FileNotFoundError:
                continue
        return cls(join=join)


def _join(namespaces):
    # the user namespace first: it grants the rights to join the others it owns
    order = sorted(namespaces.join, key=lambda k: (k != "user", k == "mount"))
    for kind in order:
        fd = os.open(namespaces.join[kind], os.O_RDONLY | os.O_CLOEXEC)
        try:
            linux.setns(fd, linux.NAMESPACE_FLAGS[kind])
        except OSError as e:
            raise PyruncError(f"linux.namespaces: cannot join {kind} namespace {namespaces.join[kind]}: "
                              f"{e.strerror}") from None
        finally:
            os.close(fd)


def _intermediate(namespaces, ch, init_main):
    """Runs in the forked child: enter namespaces, fork init, report its pid, exit."""
    new = namespaces.new
    if "user" in new:
        linux.unshare(linux.CLONE_NEWUSER)
        ch.send(type="userns")
        wait_message(ch, "mapped")
        # become the namespace's root: our host uid is (usually) not mapped inside it
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
        os.setgroups([])
    _join(namespaces)
    flags = 0
    for kind in new:
        if kind not in ("user", "cgroup"):  # init makes its cgroup namespace once inside the cgroup
            flags |= linux.NAMESPACE_FLAGS[kind]
    if flags:
        linux.unshare(flags)
    pid = os.fork()
    if pid == 0:
        run_child(ch, lambda: init_main(ch))
    ch.send(type="pid", pid=pid)


def spawn(namespaces, init_main, cgroup=None, id_maps=None):
    """Fork the process tree; returns (init pid, parent's channel to it).

    init_main(channel) runs as the new init and returns only on failure (it
    ends in execve). The intermediate is reaped here; on any failure init is
    killed.
    """
    import prctl

    # init becomes our child when the intermediate exits, so a failed start can be reaped
    # here; on success, our exit hands it on to our own subreaper (a shim), as with runc
    prctl.set_child_subreaper(1)
    parent, child = Channel.pair()
    pid = os.fork()
    if pid == 0:
        try:
            parent.close()
            _intermediate(namespaces, child, init_main)
            code = 0
        except BaseException as e:  # noqa: B036 - report everything, then die
            _report(child, e)
            code = 1
        os._exit(code)
    child.close()
    init_pid = None
    try:
        msg = parent.recv()
        if msg and msg.get("type") == "userns":
            _write_id_maps(pid, id_maps)
            parent.send(type="mapped")
            msg = parent.recv()
        if not msg or msg.get("type") != "pid":
            raise PyruncError(_failure(msg))
        init_pid = msg["pid"]
        os.waitpid(pid, 0)
        if cgroup is not None:
            cgroup.add(init_pid)
        try:
            parent.send(type="joined")
        except BrokenPipeError:
            pass  # init already failed; its error message is waiting in the pipe
        return init_pid, parent
    except BaseException:
        kill_and_reap(pid)
        if init_pid:
            kill_and_reap(init_pid)
        parent.close()
        raise


def init_cgroup(ch, new_cgroupns):
    """In init: wait until the parent has put us in the cgroup, then make the cgroup namespace."""
    wait_message(ch, "joined")
    if new_cgroupns:
        try:
            linux.unshare(linux.CLONE_NEWCGROUP)
        except OSError as e:
            raise PyruncError(f"linux.namespaces: cannot create a cgroup namespace: "
                              f"{os.strerror(e.errno) if e.errno else e}") from None


def _write_id_maps(pid, id_maps):
    uid_maps, gid_maps = id_maps
    for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
        text = "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in maps)
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        except OSError as e:
            field = "linux.uidMappings" if name == "uid_map" else "linux.gidMappings"
            raise PyruncError(f"{field}: cannot write {name}: {e.strerror}") from None


def _failure(msg):
    if msg is None:
        return "container init exited unexpectedly"
    if msg.get("type") == "error":
        return msg["msg"]
    return f"unexpected message from the container's process: {msg}"


def _failure_text(exc):
    return str(exc) if isinstance(exc, PyruncError) else f"{type(exc).__name__}: {exc}"


def process_error(exc):
    """What init failed with, as the runtime reports it (runc's "unable to start container process: ...")."""
    return exc if isinstance(exc, ContainerProcessError) else ContainerProcessError(_failure_text(exc))


def _report(ch, exc):
    try:
        ch.send(type="error", msg=_failure_text(exc))
    except OSError:
        pass


def run_child(ch, body):
    """Run body() in a forked init; report any error to the parent (in runc's words) and exit."""
    try:
        body()
    except BaseException as e:  # noqa: B036 - the parent turns this into the command's error
        _report(ch, process_error(e))
    os._exit(1)


def wait_message(ch, kind):
    """Read init's next message; an "error" message or EOF becomes a PyruncError."""
    msg = ch.recv()
    if not msg or msg.get("type") != kind:
        raise PyruncError(_failure(msg))
    return msg


def reap(pid):
    """Collect a child's exit status; a zombie left in a pid namespace holds up its teardown."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def kill_and_reap(pid):
    _kill_quietly(pid)
    reap(pid)


def _kill_quietly(pid):
    try:
        os.kill(pid, linux.SIGKILL)
    except ProcessLookupError:
        pass
