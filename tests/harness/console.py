"""A --console-socket listener, as engines (containerd's shim, podman's conmon) run one."""

import os
import select
import socket
import threading
import time


class ConsoleSocket:
    def __init__(self, path):
        self.path = str(path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(1)
        self.master = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        conn, _ = self.server.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        self.master = fds[0] if fds else None

    def wait_master(self, timeout=10):
        self._thread.join(timeout)
        assert self.master is not None, "no pty master received on the console socket"
        return self.master

    def read_until(self, needle, timeout=10):
        """Read the pty master until `needle` shows up (or EOF/timeout); returns all text read."""
        fd = self.wait_master()
        data = b""
        deadline = time.monotonic() + timeout
        while needle.encode() not in data and time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace")

    def close(self):
        if self.master is not None:
            os.close(self.master)
        self.server.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
