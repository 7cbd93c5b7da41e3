"""A container's state directory and its lifecycle state machine.

<root>/<id>/ holds state.json (ours), config.json (the spec as created, for
exec), exec.fifo (exists while the container is "created") and a lock file
that every command changing the container holds, so concurrent commands on
one id serialise. The lock is a POSIX record lock (lockf), not flock: the
container's init is forked from the create command and must not inherit it.
"""

import fcntl
import os
import time

from . import errors, jsonio
from .errors import NotExistError, PyruncError, StateTransitionError

CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"

EXEC_FIFO = "exec.fifo"

# operation -> the statuses it is legal in, and the error for every other status
_TRANSITIONS = {
    "start": ({CREATED}, {RUNNING: errors.START_RUNNING, PAUSED: errors.START_RUNNING,
                          STOPPED: errors.START_STOPPED}),
    "kill": ({CREATED, RUNNING, PAUSED}, {STOPPED: errors.NOT_RUNNING}),
    "exec": ({CREATED, RUNNING}, {STOPPED: errors.EXEC_STOPPED,
                                  PAUSED: "cannot exec in a paused container (use --ignore-paused to override)"}),
    "pause": ({RUNNING, CREATED}, {PAUSED: errors.PAUSE_NOT_RUNNING, STOPPED: errors.PAUSE_NOT_RUNNING}),
    "resume": ({PAUSED}, {RUNNING: errors.RESUME_NOT_PAUSED, CREATED: errors.RESUME_NOT_PAUSED,
                          STOPPED: errors.RESUME_NOT_PAUSED}),
    "update": ({CREATED, RUNNING, PAUSED}, {STOPPED: errors.NOT_RUNNING}),
    "events": ({CREATED, RUNNING, PAUSED}, {STOPPED: errors.NOT_RUNNING}),
    "ps": ({CREATED, RUNNING, PAUSED, STOPPED}, {}),
}


MAX_ID_LENGTH = 255  # the state dir is named by the id: NAME_MAX


def validate_id(cid):
    """runc's rule: [A-Za-z0-9_+.-]+, and not . or ..; runc then fails at the state dir past NAME_MAX."""
    ok = cid and cid not in (".", "..") and all(c.isascii() and (c.isalnum() or c in "_+-.") for c in cid)
    if not ok:
        raise PyruncError(errors.INVALID_ID)
    if len(cid) > MAX_ID_LENGTH:
        raise PyruncError(f"{errors.INVALID_ID}: longer than {MAX_ID_LENGTH} characters")


def process_start_time(pid):
    """Field 22 of /proc/<pid>/stat, with the process state; (None, None) if gone.

    The pair tells our container's init from a later process that reused its pid.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None, None
    fields = data[data.rindex(b")") + 2:].split()
    return int(fields[19]), fields[0].decode()


def wait_gone(pid, timeout=5.0):
    """Poll until pid has exited (a zombie counts); True if it did within timeout."""
    deadline = time.monotonic() + timeout
    while True:
        _, st = process_start_time(pid)
        if st is None or st in ("Z", "X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)


class Container:
    def __init__(self, root, cid, state):
        self.root = root
        self.id = cid
        self.dir = os.path.join(root, cid)
        self.state = state
        self._lock_fd = None

    # --- the state dir --------------------------------------------------------

    @classmethod
    def new(cls, root, cid, state):
        """Make and lock the state dir; a second create of the same id fails here."""
        validate_id(cid)
        os.makedirs(root, mode=0o711, exist_ok=True)
        c = cls(root, cid, state)
        if os.path.lexists(c.dir) and not c._remove_if_abandoned():
            raise PyruncError(errors.CONTAINER_EXISTS)
        # The dir is made aside and renamed into place with its lock already held, so another create
        # never finds it with a lock nobody holds yet (and takes it for an abandoned one).
        staging = os.path.join(root, f".{cid}.{os.getpid()}")
        os.mkdir(staging, 0o711)
        try:
            fd = os.open(os.path.join(staging, "lock"), os.O_RDWR | os.O_CLOEXEC | os.O_CREAT, 0o600)
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                os.rename(staging, c.dir)  # fails on a dir with anything in it: another create's
            except OSError:
                os.close(fd)
                raise PyruncError(errors.CONTAINER_EXISTS) from None
        except BaseException:
            _remove_flat_dir(staging)
            raise
        c._lock_fd = fd
        return c

    def _remove_if_abandoned(self):
        """A dir with no state.json whose lock nobody holds is a create that died midway."""
        if os.path.exists(self.path("state.json")):
            return False
        try:
            fd = os.open(self.path("lock"), os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            # died before taking the lock, or is just about to take it
            if time.time() - os.stat(self.dir).st_mtime < 5:
                return False
            fd = None
        try:
            if fd is not None:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a create in progress
        finally:
            if fd is not None:
                os.close(fd)
        if os.path.exists(self.path("state.json")):
            return False
        _remove_flat_dir(self.dir)
        return True

    @classmethod
    def load(cls, root, cid, lock=True):
        validate_id(cid)
        c = cls(root, cid, None)
        if lock:
            try:
                c.lock()
            except FileNotFoundError:
                raise NotExistError() from None
        try:
            with open(os.path.join(c.dir, "state.json"), "rb") as f:
                c.state = jsonio.loads(f.read())
        except FileNotFoundError:
            # a state dir without state.json is a create still in progress or one that died
            c.unlock()
            raise NotExistError() from None
        return c

    def lock(self):
        fd = os.open(os.path.join(self.dir, "lock"), os.O_RDWR | os.O_CLOEXEC)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        self._lock_fd = fd

    def unlock(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def save(self):
        tmp = os.path.join(self.dir, "state.json.tmp")
        self.write_private("state.json.tmp", jsonio.dumps(self.state).encode())
        os.rename(tmp, os.path.join(self.dir, "state.json"))

    def write_private(self, name, data: bytes):
        """0600, as runc's state files: they hold the process's env, and the state dir is 0711."""
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def path(self, name):
        return os.path.join(self.dir, name)

    def remove_dir(self):
        _remove_flat_dir(self.dir)
        self.unlock()

    # --- status ---------------------------------------------------------------

    @property
    def pid(self):
        return self.state["pid"]

    def init_alive(self):
        start, st = process_start_time(self.pid)
        return start is not None and start == self.state["pid_start"] and st not in ("Z", "X")

    def status(self):
        if not self.init_alive():
            return STOPPED
        # a created container can be paused too, so frozen wins (as runc)
        if self.cgroup().is_frozen():
            return PAUSED
        if os.path.exists(self.path(EXEC_FIFO)):
            return CREATED
        return RUNNING

    def require(self, op):
        """Raise the runc error for `op` unless the current status allows it; returns the status."""
        status = self.status()
        allowed, messages = _TRANSITIONS[op]
        if status not in allowed:
            msg = messages.get(status, f"cannot {op} a {status} container")
            raise StateTransitionError(msg.format(id=self.id, status=status))
        return status

    def cgroup(self):
        from .cgroups import from_state

        return from_state(self.state["cgroup"])

    def oci_state(self, status=None):
        """The runtime-spec state object, as `pyrunc state` prints and hooks read."""
        status = status or self.status()
        out = {
            "ociVersion": self.state["oci_version"],
            "id": self.id,
            "pid": self.pid if status != STOPPED else 0,  # hooks ask for a status explicitly
            "status": status,
            "bundle": self.state["bundle"],
            "rootfs": self.state["rootfs"],
            "created": self.state["created"],
            "owner": "",
        }
        if self.state.get("annotations"):
            out["annotations"] = self.state["annotations"]
        return out

    def spec(self):
        """The config this container was created from (re-read for exec and hooks)."""
        from . import spec

        with open(self.path("config.json"), "rb") as f:
            return spec.parse(f.read())


def _remove_flat_dir(path):
    """The state dir holds only files; shutil would cost ~9 ms of import (fnmatch, re)."""
    try:
        names = os.listdir(path)
    except FileNotFoundError:
        return
    for name in names:
        try:
            os.unlink(os.path.join(path, name))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass


def list_ids(root):
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.exists(os.path.join(root, n, "state.json")))


def timestamp_now():
    """RFC 3339 with nanoseconds, as runc writes "created"."""
    ns = time.time_ns()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"
