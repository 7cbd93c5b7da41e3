"""pyrunc without an exec: each runtime call forks the shim, and the child runs pyrunc's CLI.

An exec'd `pyrunc create/start/delete` starts a fresh interpreter each time (~9 ms before any
work, three or more per container). When the runtime binary is pyrunc's own console script for
this very interpreter, flags and sys.path (so `import pyrunc` here loads what the script would),
spawn.run makes its child with fork_pyrunc instead of posix_spawn. Only the short-lived child
imports pyrunc: the shim lives as long as its container, and pyrunc's modules (ctypes, prctl, the
spec records, cgroups) would cost each shim ~1.4 MB. Any other binary (runc, crun, a pyrunc of
another interpreter or sys.path) is exec'd as before.

The child is made to look like the exec'd process before pyrunc runs: the shim's Python signal
handlers (SIGCHLD and its wake-up fd) back to the default an exec gives, stdio dup'd from the same
descriptors in the same order, every other descriptor closed (the exec would close them all: the
shim opens none inheritable), the runtime's command line as the process title, fresh sys.std*
streams, sys.argv as the script sees it; then pyrunc.cli.run(), which flushes and os._exit()s
with the command's status, as the script does.
The shim's threads do not exist in the child, which touches none of their objects or locks, and
gc.freeze() keeps the shim's objects (and their finalizers) out of the child's collections. The
child is the shim's, as the exec'd binary was: `create`'s init is handed to the shim (a
subreaper, a setting fork does not pass on) when the child exits.
"""

import os
import sys

ENTRY_IMPORT = "from pyrunc.cli import run"
# every line pip's console script of pyrunc has, and tools/fast_entry_points.py's (which adds the
# flags and the sys.path line): a script with any other statement is not taken for pyrunc's
SCRIPT_LINES = {"# -*- coding: utf-8 -*-", "import re", "import sys", ENTRY_IMPORT, "if __name__ == '__main__':",
                "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])",
                "    sys.argv[0] = sys.argv[0].removesuffix('.exe')", "    sys.exit(run())", ""}
PATH_MARK = "  # sys.path as site would set it (-S skips it)"


def _own_flags() -> str | None:
    """The flags a console script of this interpreter carries: tools/fast_entry_points.py's -IS, or
    pip's none; None for any other mix (never taken for pyrunc's)."""
    isolated, no_site = bool(sys.flags.isolated), bool(sys.flags.no_site)
    if isolated and no_site:
        return "-IS"
    return None if isolated or no_site else ""


def _same_path(added: list[str], binary: str, flags: str) -> bool:
    """The script's module search path is this interpreter's: -IS scripts list site's paths, which
    must be the tail of ours; pip's get the script's directory first, as ours must be."""
    if flags:
        return len(added) == 1 and any(added[0] == f"sys.path += {sys.path[k:]!r}{PATH_MARK}"
                                       for k in range(len(sys.path)))
    return not added and sys.path[:1] == [os.path.dirname(os.path.realpath(binary))]


def is_pyrunc(binary: str) -> bool:
    """binary is pyrunc's console script for this interpreter, with the same flags and sys.path,
    and pyrunc's package is on that path: the child's import gets the very version the script runs."""
    try:
        with open(binary, "rb") as f:
            lines = f.read(8192).decode().splitlines()
    except (OSError, UnicodeDecodeError):
        return False
    if not lines or not lines[0].startswith("#!") or ENTRY_IMPORT not in lines:
        return False
    added = [line for line in lines[1:] if line not in SCRIPT_LINES]
    interpreter, _, flags = lines[0][2:].strip().partition(" ")
    if flags != _own_flags() or os.path.dirname(interpreter) != os.path.dirname(sys.executable) \
            or os.path.realpath(interpreter) != os.path.realpath(sys.executable):
        return False
    return _same_path(added, binary, flags) and any(
        os.path.isfile(os.path.join(p, "pyrunc", "cli.py")) for p in sys.path if p)


def fork_pyrunc(args: list[str], fds: list[int]) -> int:
    """spawn.Starter: fork; the child runs `pyrunc args[1:]` and exits with its status."""
    pid = os.fork()
    if pid == 0:
        try:
            _child(args, fds)
        finally:
            os._exit(127)  # _child never returns; this is a failure to set the child up
    return pid


def _child(args: list[str], fds: list[int]) -> None:
    import _signal as signal  # `signal` without its enum import, as pyrunc's kill does
    import gc

    gc.freeze()
    signal.set_wakeup_fd(-1)  # before the descriptors go: SIGCHLD would write to a closed or reused one
    for sig in signal.valid_signals():
        handler = signal.getsignal(sig)
        if callable(handler) and handler is not signal.default_int_handler:
            signal.signal(sig, signal.SIG_DFL)  # an exec resets caught signals; ignored ones stay so
    for i, fd in enumerate(fds):  # posix_spawn's dup2 actions, in order
        if fd == i:
            os.set_inheritable(i, True)
        else:
            os.dup2(fd, i)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    _retitle(args)
    _fresh_stdio()
    sys.argv = list(args)
    try:
        from pyrunc.cli import run
    except ImportError:  # gone since the shim started: the binary, as the exec path runs it
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        os.execv(args[0], args)
    try:
        run()
    except SystemExit as e:  # what the interpreter does with one at the top
        if e.code is None or isinstance(e.code, int):
            os._exit(e.code or 0)
        print(e.code, file=sys.stderr)
        sys.stderr.flush()
        os._exit(1)
    except BaseException:  # noqa: B036 - the interpreter's traceback and status 1, as the exec'd script's
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def _retitle(args: list[str]) -> None:
    """The runtime's command line and name in /proc (cmdline, comm), not the shim's: whatever finds
    shims by their command line (pyruncd after a restart, containerd's tests) must not take this child,
    or the init it forks (which keeps the title until start execs the process), for a shim."""
    import _prctl  # python-prctl's C part: its Python part is ~1.4 ms to import (`shim delete` has not)

    _prctl.set_proctitle(" ".join(args))  # within the shim's own argv and environ area: cut if longer
    _prctl.prctl(_prctl.PR_SET_NAME, os.path.basename(args[0])[:15])


def _fresh_stdio() -> None:
    """Streams as a new interpreter makes them on descriptors 0-2 (none is a terminal: a console
    goes through the console socket). The shim's own stay as sys.__std*__, never flushed here:
    what they might hold is not the runtime's output."""
    import io

    streams = []
    for fd, like in enumerate((sys.__stdin__, sys.__stdout__, sys.__stderr__)):
        buffered = open(fd, "rb" if fd == 0 else "wb", closefd=False)
        streams.append(io.TextIOWrapper(buffered, encoding=like.encoding if like else None,
                                        errors=like.errors if like else None, line_buffering=fd == 2))
    sys.stdin, sys.stdout, sys.stderr = streams
