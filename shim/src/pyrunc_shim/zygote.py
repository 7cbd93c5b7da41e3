"""The shim zygote: one process pyruncd starts, with the server's modules already imported, that
forks a shim server per container on request, so a container's start spends no interpreter start
and no imports (~25 ms) on its shim:

  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -publish-binary BIN zygote

Its stdin is a SOCK_SEQPACKET socket to pyruncd. A request is one message, `bundle \\0 id \\0 events
address`, carrying one descriptor to answer on: the server's address once it listens (its pid is in
the bundle's shim.pid), or `error: ...`. Each server is what `start` makes: forked by a child that
then exits (so it is reparented as `start`'s server is), in its own session, its working directory
the bundle, its stdio detached, ./address and ./shim.pid written. Its command line is the zygote's
(no -id: Linux lets no unprivileged process rewrite it), so pyruncd finds it at restart by its
working directory. When pyruncd closes its end, stopped or killed, the zygote leaves; the servers it
forked live on with their containers.
"""

import gc
import os
import signal
import socket

from .serving import Identity, detach_stdio, import_server, listen, new_socket_address, record, serve_task


def run(namespace: str, publish_binary: str, containerd_address: str) -> int:
    import_server()
    # what every server imports later (the reaper's prctl, a started task's OOM watch and cgroups):
    # loaded once here too
    import prctl  # noqa: F401

    from . import oom, stats  # noqa: F401

    os.chdir("/")  # holds no directory of pyruncd's busy
    control = socket.socket(fileno=os.dup(0))  # off fd 0, which a server's stdio takes over
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    gc.freeze()  # the forks' collections leave the shared objects' pages alone
    while True:
        msg, fds, _, _ = socket.recv_fds(control, 65536, 1)
        if not msg:
            return 0  # pyruncd is gone
        if len(fds) != 1:
            for fd in fds:
                os.close(fd)
            continue
        (answer,) = fds
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                _fork_server(Identity("", namespace, publish_binary, containerd_address), msg, answer)
            finally:
                os._exit(0)
        os.close(answer)
        os.waitpid(pid, 0)


def _fork_server(who: Identity, msg: bytes, answer: int) -> None:
    """In the zygote's child: `start`'s work, the server forked off, the address answered."""
    try:
        bundle, who.container_id, events = msg.decode().split("\0")
        os.chdir(bundle)
        address = new_socket_address()
        listener = listen(address)
    except (ValueError, OSError) as e:
        os.write(answer, f"error: {e}".encode())
        return
    pid = os.fork()
    if pid == 0:
        try:
            os.close(answer)
            os.setsid()
            detach_stdio(bundle)
            if events:
                os.environ["TTRPC_ADDRESS"] = events
            serve_task(who, listener, bundle, b"", {})
        finally:
            os._exit(0)
    try:
        record(bundle, address, pid)
    except OSError as e:  # nobody would know the server: it goes
        os.kill(pid, signal.SIGKILL)
        os.unlink(address.removeprefix("unix://"))
        os.write(answer, f"error: {e}".encode())
        return
    os.write(answer, address.encode())
