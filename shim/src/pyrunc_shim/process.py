"""The container's processes (init and execs): their state machine, stdio and console.

Output FIFOs are opened O_RDWR (never blocks, even with no reader yet). Stdout is handed to the
runtime as the process's own descriptor, so no copying is needed; stderr goes through a pipe a
thread copies once the runtime succeeded, since the runtime writes its own errors to the stderr
the process inherits. The shim keeps its own O_RDWR end after the process exits, for as long as
the FIFO holds unread output (until Delete at the latest): output a reader that is away (pyruncd
restarting) has not taken yet stays in the pipe instead of being dropped with the last
descriptor, while a reader that keeps up still sees EOF. Stdin goes through a pipe fed by a
thread; as in containerd's runc shim, the shim holds a writer on the stdin FIFO, so clients may
come and go (`ctr task attach`) and stdin ends only at CloseIO, even while a client keeps its
FIFO open. With a terminal, threads copy between the FIFOs and the pty master the runtime sends
over the console socket. A `binary://` log URI hands the output to a logging binary's pipes
instead (logger.py, imported only then).
"""

import _socket  # socket.py's imports (enum, selectors) are ~6 ms of the shim's way to its first answer
import _thread
import os
import select
import stat
import struct
import time

PTY_DIR = "/run/pyrunc-shim"  # console sockets: short paths (sun_path holds 108 bytes)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyrunc_ttrpc.server import Call

    from .logger import BinaryLogger

    StdioFds = tuple[int | None, int | None, int | None]  # the runtime's stdin, stdout, stderr; None: /dev/null


class ProcessState:
    """One of State's: its name and its value in containerd.v1.types.Status."""

    __slots__ = ("name", "value")

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value


class State:
    """A process's states (no Enum: enum's import is ~3 ms of the shim's way to its first answer)."""

    CREATED = ProcessState("CREATED", 1)
    RUNNING = ProcessState("RUNNING", 2)
    STOPPED = ProcessState("STOPPED", 3)
    PAUSED = ProcessState("PAUSED", 4)


class Stdio:
    def __init__(self, stdin: str = "", stdout: str = "", stderr: str = "", terminal: bool = False) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.terminal = terminal


def _copy(src: int, dst: int, close_dst: bool) -> None:
    try:
        while True:
            data = os.read(src, 32768)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
    except OSError:
        pass  # EIO from a pty master whose slave closed, or EPIPE: the stream is over
    finally:
        if close_dst:
            try:
                os.close(dst)
            except OSError:
                pass


def _spawn(target: "Callable[..., object]", *args: object) -> _thread.LockType:
    """Run target in a thread (the low-level module: threading costs the shim ~1 MB); the
    returned lock is released when target returns."""
    done = _thread.allocate_lock()
    done.acquire()

    def body() -> None:
        try:
            target(*args)
        finally:
            done.release()

    _thread.start_new_thread(body, ())
    return done


def _open_input(path: str) -> tuple[int, int]:
    """The stdin FIFO's read end, and a write end of our own that keeps it from EOF while no
    client has it open (`ctr run -d`, then `ctr task attach`): stdin ends at CloseIO."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    os.set_blocking(fd, True)
    return fd, os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)


class SharedFd:
    """A descriptor that copy threads use and the loop may end at any time (CloseIO, exit).

    end() points the number at /dev/null, which closes the real file (the peer sees EOF) while
    a thread blocked on it or about to write still holds a valid descriptor, never one reused by
    something else; the last of the `users` to release() frees the number.
    """

    def __init__(self, fd: int, users: int) -> None:
        self.fd = fd
        self._users = users
        self._ended = False
        self._lock = _thread.allocate_lock()

    def end(self) -> None:
        with self._lock:
            if not self._ended and self._users > 0:
                null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                os.dup2(null, self.fd, inheritable=False)
                os.close(null)
                self._ended = True

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0:
                os.close(self.fd)


def _open_output(path: str) -> int:
    """A FIFO read-write (no blocking on a missing reader), a plain file for appending; a
    file:// URI (`ctr run --log-uri file:///x`) is a plain file. Other URI schemes are refused
    (binary:// never comes here: its logger takes the output)."""
    if "://" in path:
        scheme, _, rest = path.partition("://")
        if scheme != "file":
            raise OSError(f"log URI scheme {scheme!r} is not supported: {path}")
        path = rest.partition("?")[0]
    try:
        if stat.S_ISFIFO(os.stat(path).st_mode):
            return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        pass
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)


def _unread(fd: int) -> bool:
    """Whether a FIFO we hold read-write (never at EOF, then) has bytes no reader took. FIONREAD
    would import fcntl and termios at the first exit (~0.8 ms before Wait's answer)."""
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class HeldOutput:
    """The shim's own ends of a process's output FIFOs (plain log files are closed at once).

    While held, the pipe and what it holds outlive the process; close_when_read() lets each go as
    soon as it is empty, so a reader's EOF comes once it has read everything (a thread polls for
    that only when output is still unread at the exit); close_all() is Delete's.
    """

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._lock = _thread.allocate_lock()
        self._letting_go = False

    def add(self, fd: int) -> None:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            return
        with self._lock:
            self._fds.append(fd)
            letting_go = self._letting_go
        if letting_go:  # a terminal's copy that ended after the exit was handled
            self.close_when_read()

    def _close_read(self) -> bool:
        """Close the empty ones; True when some are left."""
        with self._lock:
            keep = []
            for fd in self._fds:
                if _unread(fd):
                    keep.append(fd)
                else:
                    os.close(fd)
            self._fds = keep
            return bool(keep)

    def close_when_read(self) -> None:
        with self._lock:
            self._letting_go = True
        if self._close_read():
            _spawn(self._poll)

    def _poll(self) -> None:
        delay = 0.002
        while self._close_read():
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def close_all(self) -> None:
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds = []


class Console:
    """The console socket the runtime sends the pty master through (SCM_RIGHTS)."""

    _count = 0

    def __init__(self) -> None:
        Console._count += 1
        os.makedirs(PTY_DIR, mode=0o711, exist_ok=True)
        self.path = os.path.join(PTY_DIR, f"pty-{os.getpid()}-{Console._count}.sock")
        self.sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock.bind(self.path)
        self.sock.listen(1)

    def receive_master(self, timeout: float = 10.0) -> int:
        self.sock.settimeout(timeout)
        # what socket.socket.accept() wraps into its class; _socket has no other accept (nor has typeshed this one)
        fd, _ = self.sock._accept()  # type: ignore[attr-defined]
        conn = _socket.socket(fileno=fd)
        try:
            conn.setblocking(True)
            fds: list[int] = []  # not an array.array: `array` imports collections.abc (~2.5 ms)
            _, anc, _, _ = conn.recvmsg(4096, _socket.CMSG_SPACE(4))
            for level, kind, data in anc:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                    fds += struct.unpack(f"{len(data) // 4}i", data[: len(data) - len(data) % 4])
        finally:
            conn.close()
        if not fds:
            raise OSError("the runtime sent no pty master over the console socket")
        return fds[0]

    def close(self) -> None:
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _await_all(done: list[_thread.LockType], timeout: float) -> None:
    """Wait for copy threads (each holds its lock until it ends), for timeout at most in all."""
    deadline = time.monotonic() + timeout
    for lock in done:
        if lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            lock.release()


class Process:
    """One process of the task; `exec_id` is "" for the container's init."""

    def __init__(self, exec_id: str, stdio: Stdio, spec: bytes = b"") -> None:
        self.exec_id = exec_id
        self.stdio = stdio
        self.spec = spec  # an exec's OCI process JSON
        self.pid = 0
        self.state = State.CREATED
        self.exit_status = 0
        self.exited_at_ns = 0
        self.waiters: list[Call] = []  # Wait calls answered at exit
        self._stdin: SharedFd | None = None  # our end of the process's stdin pipe
        self._stdin_hold = -1  # our writer on the stdin FIFO, closed by CloseIO
        self._stdin_wake = -1  # written by CloseIO: the feeding thread copies what is left, then ends
        self._master: SharedFd | None = None  # the pty master
        self._child_fds: list[int] = []
        self._output_done: list[_thread.LockType] = []
        self._output_fds: tuple[int, ...] = ()  # the FIFO end open_stdio gave for stdout
        self._stderr_copy: tuple[int, int] | tuple[()] = ()  # (pipe's read end, stderr FIFO) until the runtime is done
        self._copies: list[_thread.LockType] = []  # stderr copies, released at the pipe's EOF
        self._held = HeldOutput()
        self._logger: BinaryLogger | None = None  # the logging binary of a binary:// stdout, until Delete

    def open_stdio(self, process_id: str, namespace: str) -> "StdioFds":
        """Descriptors for the runtime's (stdin, stdout, stderr); None means /dev/null. A
        binary:// stdout starts its logger (told process_id and namespace) and waits until it is
        ready, as containerd's runc shim does; it takes stderr too."""
        if self.stdio.stdout.startswith("binary://"):
            from .logger import BinaryLogger

            self._logger = BinaryLogger(self.stdio.stdout, process_id, namespace)
        if self.stdio.terminal:
            return (None, None, None)
        stdin = stdout = stderr = None
        if self.stdio.stdin:
            src, self._stdin_hold = _open_input(self.stdio.stdin)
            r, w = os.pipe2(os.O_CLOEXEC)
            self._stdin = SharedFd(w, users=2)  # the feeding thread and this process
            stdin = r
            self._child_fds.append(r)
            wake_r, self._stdin_wake = os.pipe2(os.O_CLOEXEC)
            _spawn(self._feed, src, self._stdin, wake_r)
        if self._logger:
            stdout = self._logger.stdout  # the logger's to close, at Delete
        elif self.stdio.stdout:
            stdout = _open_output(self.stdio.stdout)
            self._child_fds.append(stdout)
            self._output_fds = (stdout,)
        if self._logger or self.stdio.stderr:
            # the process inherits the runtime's stderr, where the runtime writes its own errors:
            # through a pipe copied only once the process runs, they stay out of the process's output
            r, stderr = os.pipe2(os.O_CLOEXEC)
            self._child_fds.append(stderr)
            self._stderr_copy = (r, os.dup(self._logger.stderr) if self._logger else _open_output(self.stdio.stderr))
        return stdin, stdout, stderr

    def close_child_stdio(self) -> None:
        """After the runtime has passed them on, the shim keeps only its hold on output FIFOs and
        copies stderr; a process that never ran has no output to keep."""
        for fd in self._child_fds:
            if fd in self._output_fds and self.pid:
                self._held.add(fd)
            else:
                os.close(fd)
        self._child_fds = []
        self._output_fds = ()
        if self._stderr_copy:
            src, dst = self._stderr_copy
            self._stderr_copy = ()
            if self.pid:
                self._copies.append(_spawn(self._pipe_out, src, dst, self._held))
            else:
                os.close(src)
                os.close(dst)

    @staticmethod
    def _pipe_out(src: int, dst: int, held: "HeldOutput") -> None:
        _copy(src, dst, close_dst=False)
        os.close(src)
        held.add(dst)

    @staticmethod
    def _feed(src: int, dst: SharedFd, wake: int) -> None:
        """Copy a client's stdin FIFO into the process's stdin pipe until CloseIO (our own writer
        keeps the FIFO from EOF before): a client writes its last bytes and then calls CloseIO,
        maybe keeping its FIFO open, so after the wake-up what the FIFO already holds is still
        copied before the pipe ends."""
        # non-blocking reads keep the FIFO's own EOF rule (no writer, ever or any more: EOF at once),
        # which waiting in select() would not (it never wakes for a writer that never came)
        os.set_blocking(src, False)
        closing = False
        try:
            while True:
                try:
                    data = os.read(src, 32768)
                except BlockingIOError:  # a writer, but nothing to read yet
                    if closing:
                        break
                    ready, _, _ = select.select([src, wake], [], [])
                    closing = wake in ready
                    continue
                if not data:
                    break
                view = memoryview(data)
                while view:
                    view = view[os.write(dst.fd, view):]
        except OSError:
            pass  # EPIPE: the process closed its stdin
        finally:
            os.close(src)
            os.close(wake)
            dst.end()
            dst.release()

    def close_stdin(self) -> None:
        if self._stdin_hold >= 0:
            os.close(self._stdin_hold)
            self._stdin_hold = -1
        if self._stdin_wake >= 0:
            os.close(self._stdin_wake)  # the feeding thread sees the wake-up end readable (EOF)
            self._stdin_wake = -1

    def attach_console(self, master: int) -> None:
        users = 1 + bool(self.stdio.stdout) + bool(self.stdio.stdin)
        self._master = SharedFd(master, users)
        if self.stdio.stdout:
            out = os.dup(self._logger.stdout) if self._logger else self.stdio.stdout
            self._output_done.append(_spawn(self._pty_out, out, self._master, self._held))
        if self.stdio.stdin:
            src, self._stdin_hold = _open_input(self.stdio.stdin)
            _spawn(self._pty_in, src, self._master)

    @staticmethod
    def _pty_out(out: int | str, master: SharedFd, held: "HeldOutput") -> None:
        dst = out if isinstance(out, int) else _open_output(out)
        _copy(master.fd, dst, close_dst=False)
        held.add(dst)
        master.release()

    @staticmethod
    def _pty_in(src: int, master: SharedFd) -> None:
        _copy(src, master.fd, close_dst=False)
        os.close(src)
        master.release()

    def resize(self, width: int, height: int) -> None:
        import fcntl
        import termios

        if self._master is None or self.exited:
            raise OSError("the process has no terminal")
        fcntl.ioctl(self._master.fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def set_exited(self, status: int) -> None:
        self.state = State.STOPPED
        self.exit_status = status
        self.exited_at_ns = time.time_ns()
        # the copied output (a terminal's, stderr's) must reach its FIFO before anyone hears of the
        # exit: a client that drains what is there at the exit would miss the last lines. Bounded, for
        # a background child that keeps the pipe open.
        _await_all(self._output_done + self._copies, 2.0)
        self.release_stdio()
        self._held.close_when_read()

    def drop_output(self) -> None:
        """Delete: whatever no reader took by now is given up (after up to 2 s for the copies to
        reach their EOF, as containerd's runc shim waits)."""
        _await_all(self._copies, 2.0)
        self._held.close_all()
        if self._logger is not None:
            self._logger.close()
            self._logger = None

    def release_stdio(self) -> None:
        """The process is gone (or never started): end its stdin and terminal, drop our holds."""
        self.close_stdin()
        for shared in (self._stdin, self._master):
            if shared is not None:
                shared.end()
                shared.release()
        self._stdin = self._master = None

    @property
    def exited(self) -> bool:
        return self.state == State.STOPPED
