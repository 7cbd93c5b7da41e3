"""`pyrunc run`: create + start, then (unless --detach) wait, forward signals, and delete."""

import os

from ..container import validate_id
from .create import absolute, create_container, load_bundle
from .start import release, run_poststart


def run(ctx, args, bundle=None, console_socket=None, pid_file=None, no_pivot=False, no_new_keyring=False,
        preserve_fds=None, detach=False, keep=False, no_subreaper=False):
    cid = args[0]
    validate_id(cid)
    pid_file, console_socket = absolute(pid_file), absolute(console_socket)
    loaded = load_bundle(bundle)
    spec = loaded[2]
    proxy = None
    if spec.process.terminal and not console_socket and not detach:
        from ..console import ConsoleSocketPair

        proxy = ConsoleSocketPair()
    c = create_container(ctx, cid, loaded, console_socket=console_socket, pid_file=pid_file, no_pivot=no_pivot,
                         preserve_fds=preserve_fds or 0, console_fd=proxy.theirs.fileno() if proxy else None,
                         no_new_keyring=no_new_keyring)
    master = proxy.receive_master() if proxy else None
    try:
        release(c)
    except BaseException:
        from .delete import destroy

        destroy(c, ctx.log)
        raise
    c.unlock()
    run_poststart(c, ctx.log)
    if detach:
        return 0
    code = wait_forwarding_signals(c.pid, master)
    if not keep:
        from ..container import Container
        from .delete import destroy
        from .kill import kill_all_and_wait

        c = Container.load(ctx.root, cid)
        kill_all_and_wait(c)
        destroy(c, ctx.log)
    return code


def wait_forwarding_signals(pid, master=None):
    """Reap until `pid` exits, passing our signals on to it; returns its exit code (128+n for signal n)."""
    import _signal  # see kill.py: `signal` without its enum import

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in _signal.valid_signals():
        if sig not in (_signal.SIGKILL, _signal.SIGSTOP, _signal.SIGCHLD, _signal.SIGWINCH) and sig < _signal.SIGRTMIN:
            try:
                _signal.signal(sig, forward)
            except (OSError, ValueError):
                pass
    if master is not None:
        from ..console import copy_until_exit

        copy_until_exit(master)
    while True:
        reaped, status = os.waitpid(-1, 0)
        if reaped == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
