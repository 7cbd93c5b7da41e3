"""Foreground runs with a terminal and no --console-socket: we hold the pty master
and copy between it and our own stdio, as `runc run -t` does."""

import os
import signal


class ConsoleSocketPair:
    """A private console socket: init sends the master to our end."""

    def __init__(self):
        import socket

        self.ours, self.theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def receive_master(self):
        import socket

        self.theirs.close()
        _, fds, _, _ = socket.recv_fds(self.ours, 1024, 1)
        self.ours.close()
        if not fds:
            from .errors import PyruncError

            raise PyruncError("the container did not send its console")
        return fds[0]


def copy_until_exit(master):
    """Relay stdin -> master and master -> stdout until the pty closes; raw mode meanwhile."""
    import select
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
        _copy_winsize(0, master)
        signal.signal(signal.SIGWINCH, lambda *_: _copy_winsize(0, master))
    fds = [0, master]
    try:
        while True:
            try:
                ready, _, _ = select.select(fds, [], [])
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every slave fd is closed
                    data = b""
                if not data:
                    return
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    fds.remove(0)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _copy_winsize(src, dst):
    import fcntl
    import termios

    try:
        fcntl.ioctl(dst, termios.TIOCSWINSZ, fcntl.ioctl(src, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass
