"""pyruncd's end of the shim zygote (pyrunc_shim/zygote.py): a child that has imported the shim
server's modules and forks a server per container, so a start spends no interpreter start on its
shim. It reads requests from a socket only we hold and leaves when that closes, so it ends with
pyruncd, stopped or killed; the servers it forked do not. When it is gone, the caller execs
`shim start` instead (shim.py).
"""

import asyncio
import socket
import subprocess
from pathlib import Path

from .shimapi import ShimError

ACTION = "zygote"  # the zygote's last argument, and so its forks': how shim.py tells them apart
ANSWER_TIMEOUT = 30.0  # as `shim start`'s


class Zygote:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        """Starts it: `argv` the shim's flags, without the action."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with theirs:
                # cwd /: it holds no directory of ours busy; stderr is ours: a crash shows in pyruncd's log
                self._proc = subprocess.Popen([*argv, ACTION], stdin=theirs.fileno(), stdout=subprocess.DEVNULL,
                                              cwd="/", env=env)
        except BaseException:
            ours.close()
            raise
        ours.setblocking(False)
        self._control = ours

    async def start(self, bundle: Path, container_id: str, events: str) -> str | None:
        """A new server's address; None if the zygote is gone (it took no request, or died on it), or
        stuck (its requests pile up). On the loop, no thread: the request leaves before the bundle is
        written (in a thread, which holds the GIL), and the zygote works meanwhile."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with ours:
            with theirs:
                try:
                    socket.send_fds(self._control, ["\0".join((str(bundle), container_id, events)).encode()],
                                    [theirs.fileno()])
                except OSError:  # BlockingIOError too: a zygote that reads nothing
                    return None
            ours.setblocking(False)
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT):
                    answer = await _read_all(ours)
            except TimeoutError:
                raise ShimError(f"shim start for {container_id[:12]}: the zygote did not answer within "
                                f"{ANSWER_TIMEOUT:g} s") from None
        if not answer:
            return None
        text = answer.decode(errors="replace")
        if text.startswith("error: "):
            raise ShimError(f"shim start for {container_id[:12]}: {text.removeprefix('error: ')}")
        return text

    def close(self) -> None:
        """It reads the end of its requests and leaves."""
        self._control.close()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


async def _read_all(sock: socket.socket) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while chunk := await loop.sock_recv(sock, 4096):
        data += chunk
    return data
