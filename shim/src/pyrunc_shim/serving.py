"""What a shim server is, however it was born: forked by `start` (main.py) or by the zygote
(zygote.py). Its socket, the files its bundle finds it by, its stdio, and the Task API served
until Shutdown.
"""

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    import _socket

    from .options import RuntimeOptions

SOCKET_DIR = "/run/pyrunc-shim"


def new_socket_address() -> str:
    """A fresh socket path; containerd keeps the address `start` prints (and so does ./address)."""
    return f"unix://{SOCKET_DIR}/{os.urandom(16).hex()}"


def listen(address: str) -> "_socket.socket":
    # _socket, as the server's: socket.py would cost `start` ~6 ms (enum, selectors)
    import _socket

    path = address.removeprefix("unix://")
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o600)
    sock.listen(32)
    return sock


def record(bundle: str, address: str, pid: int) -> None:
    """What the server is found by: ./address (containerd's, and `delete` reads it), ./shim.pid."""
    with open(os.path.join(bundle, "address"), "w") as f:
        f.write(address)
    with open(os.path.join(bundle, "shim.pid"), "w") as f:
        f.write(str(pid))


def detach_stdio(bundle: str) -> None:
    """Drop containerd's pipes; stderr goes to the log FIFO containerd reads, if it made one."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        log = os.open(os.path.join(bundle, "log"), os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(log, True)
    except OSError:
        log = null
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)


def import_server() -> None:
    """The server's modules (~4 ms): in a server forked by `start` while `start` reads the options,
    or once in the zygote, whose forks find them loaded."""
    import pyrunc_ttrpc.server  # noqa: F401

    from . import events, reaper, task  # noqa: F401


class Identity:
    """The flags a server keeps from its command line (or, forked by the zygote, from its request)."""

    def __init__(self, container_id: str, namespace: str, publish_binary: str, containerd_address: str) -> None:
        self.container_id = container_id
        self.namespace = namespace
        self.publish_binary = publish_binary
        self.containerd_address = containerd_address


def serve_task(who: Identity, listener: "_socket.socket", bundle: str, options: bytes,
               config_cache: "dict[str, RuntimeOptions]") -> None:
    """The Task API on `listener` until Shutdown; events go to $TTRPC_ADDRESS (else the publish binary)."""
    from pyrunc_ttrpc.server import Server

    from .events import Publisher
    from .reaper import Reaper
    from .task import TaskService

    path = listener.getsockname()
    publisher = Publisher(os.environ.get("TTRPC_ADDRESS", ""), who.namespace, who.publish_binary,
                          who.containerd_address)
    service = TaskService(who.container_id, who.namespace, publisher, options, config_cache)
    service.bundle = bundle
    server = Server(listener, service.handlers())
    service.add_reader, service.remove_reader = server.add_reader, server.remove_reader
    reaper = Reaper(service.on_exit)
    server.add_reader(reaper.rfd, reaper.drain)
    server.serve(done=lambda: service.shutdown_requested, after=service.answered)
    publisher.close()
    listener.close()
    try:
        os.unlink(path)
    except OSError:
        pass
