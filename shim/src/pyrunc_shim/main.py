"""Entry points of containerd-shim-pyrunc-v2, as containerd invokes them:

  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -id ID -bundle DIR delete
  containerd-shim-pyrunc-v2 -v

`start` runs in the bundle directory: it binds the ttrpc socket, writes the address to
./address, starts the server in its own session (so it outlives containerd), prints the address
and exits 0. The server is a fresh interpreter (`serve`, exec'd with the listening socket and
the options on stdin) so that it carries none of what `start` imported: it lives as long as the
container, one per container. `delete` cleans up after a shim that died and prints a protobuf
DeleteResponse.
"""

import os
import sys

from . import __version__

SOCKET_DIR = "/run/pyrunc-shim"
SIGKILL_EXIT = 128 + 9
LISTEN_FD_ENV = "PYRUNC_SHIM_LISTEN_FD"


class Flags:
    def __init__(self) -> None:
        self.namespace = ""
        self.address = ""
        self.publish_binary = ""
        self.id = ""
        self.bundle = ""
        self.debug = False
        self.version = False
        self.action = ""


def parse_flags(argv: list[str]) -> Flags:
    """Go's flag syntax: -name value, -name=value, --name value; booleans take no value."""
    flags = Flags()
    valued = {"namespace", "address", "publish-binary", "id", "bundle"}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("-") or arg == "-":
            flags.action = arg
            break
        name, eq, value = arg.lstrip("-").partition("=")
        if name in ("debug", "v"):
            setattr(flags, "version" if name == "v" else "debug", value.lower() not in ("false", "0"))
        elif name in valued:
            if not eq:
                if not args:
                    raise SystemExit(f"flag -{name} needs a value")
                value = args.pop(0)
            setattr(flags, name.replace("-", "_"), value)
        else:
            raise SystemExit(f"flag provided but not defined: -{name}")
    return flags


def socket_address(containerd_address: str, namespace: str, cid: str) -> str:
    import hashlib

    digest = hashlib.sha256(f"{containerd_address}/{namespace}/{cid}".encode()).hexdigest()
    return f"unix://{SOCKET_DIR}/{digest}"


def _listen(address: str):
    import socket

    path = address.removeprefix("unix://")
    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)  # start is only called when no shim serves this task
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    os.chmod(path, 0o600)
    sock.listen(32)
    return sock


def start(flags: Flags) -> int:
    options = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    handoff = _serve_input(options)  # first: bad options leave nothing behind
    bundle = os.getcwd()
    address = socket_address(flags.address, flags.namespace, flags.id)
    listener = _listen(address)
    with open(os.path.join(bundle, "address"), "w") as f:
        f.write(address)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.dup2(handoff, 0)
            _detach_output(bundle)
            os.set_inheritable(listener.fileno(), True)
            env = dict(os.environ, **{LISTEN_FD_ENV: str(listener.fileno())})
            argv = [sys.executable, sys.argv[0], "-namespace", flags.namespace, "-address", flags.address,
                    "-publish-binary", flags.publish_binary, "-id", flags.id, "serve"]
            os.execve(sys.executable, argv, env)
        finally:
            os._exit(127)
    with open(os.path.join(bundle, "shim.pid"), "w") as f:
        f.write(str(pid))
    sys.stdout.write(address)
    sys.stdout.flush()
    return 0


def _serve_input(options: bytes) -> int:
    """A pipe holding what the server reads on stdin: the options containerd gave `start`, then
    the runtime config file they name, pre-read here (TOML) so the server never loads tomllib."""
    from .options import config_path_of, read_config_file
    from .ttrpc.status import TtrpcError

    path = config_path_of(options)
    try:
        config = read_config_file(path) if path else {}
    except TtrpcError as e:
        raise SystemExit(e.message) from e
    lines = [options.hex(), path] + [f"{k}={v}" for k, v in config.items()]
    r, w = os.pipe()
    os.write(w, "\n".join(lines).encode())  # a few hundred bytes: fits in the pipe buffer
    os.close(w)
    return r


def _read_serve_input() -> tuple[bytes, dict]:
    data = sys.stdin.buffer.read().decode().split("\n")
    options, path = bytes.fromhex(data[0]), data[1] if len(data) > 1 else ""
    config: dict = {}
    for line in data[2:]:
        key, _, value = line.partition("=")
        config[key] = value == "True" if key.startswith("no_") else value
    return options, ({path: config} if path else {})


def _detach_output(bundle: str) -> None:
    """Drop containerd's pipes; stderr goes to the log FIFO containerd reads, if it made one."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        log = os.open(os.path.join(bundle, "log"), os.O_WRONLY | os.O_NONBLOCK)
        os.set_blocking(log, True)
    except OSError:
        log = null
    os.dup2(null, 1)
    os.dup2(log, 2)


def serve(flags: Flags) -> int:
    import socket

    from .events import Publisher
    from .reaper import Reaper
    from .task import TaskService
    from .ttrpc.server import Server

    options, config_cache = _read_serve_input()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    listener = socket.socket(fileno=int(os.environ.pop(LISTEN_FD_ENV)))
    os.set_inheritable(listener.fileno(), False)
    bundle = os.getcwd()
    path = listener.getsockname()  # not socket_address(): hashlib would cost the server 3.5 MB
    publisher = Publisher(os.environ.get("TTRPC_ADDRESS", ""), flags.namespace, flags.publish_binary, flags.address)
    service = TaskService(flags.id, flags.namespace, publisher, options, config_cache)
    service.bundle = bundle
    server = Server(listener, service.handlers())
    service.add_reader, service.remove_reader = server.add_reader, server.remove_reader
    reaper = Reaper(service.on_exit)
    server.add_reader(reaper.rfd, reaper.drain)
    server.serve(done=lambda: service.shutdown_requested)
    publisher.close()
    listener.close()
    try:
        os.unlink(path)
    except OSError:
        pass
    return 0


def delete(flags: Flags) -> int:
    """Clean up after a dead shim: force-delete the container, unmount its rootfs."""
    import time

    from . import wire
    from .mounts import unmount_rootfs
    from .runc import DEFAULT_BINARY, RUNTIME_FILE, Runc, RuncError, default_root, resolve_binary

    bundle = flags.bundle or os.getcwd()
    try:
        with open(os.path.join(bundle, RUNTIME_FILE)) as f:
            binary, root = f.read().split("\n")[:2]
    except FileNotFoundError:
        pass  # never created, or deleted through the Task API: no container to remove
    else:
        try:
            binary = binary or resolve_binary(DEFAULT_BINARY, sys.argv[0])
            root = root or default_root(binary, "", flags.namespace)
            Runc(binary, root, os.path.join(bundle, "log.json")).delete(flags.id, force=True)
        except RuncError:
            pass  # nothing left to delete: the rest of the cleanup still holds
    unmount_rootfs(os.path.join(bundle, "rootfs"))
    try:  # the socket of the dead server, as `start` recorded it
        with open(os.path.join(bundle, "address")) as f:
            os.unlink(f.read().strip().removeprefix("unix://"))
    except OSError:
        pass
    resp = wire.encode("containerd.task.v2.DeleteResponse", exit_status=SIGKILL_EXIT,
                       exited_at=wire.timestamp(time.time_ns()))
    sys.stdout.buffer.write(resp)
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    flags = parse_flags(sys.argv[1:] if argv is None else argv)
    if flags.version:
        print(f"containerd-shim-pyrunc-v2:\n  Version:  {__version__}")
        return 0
    actions = {"start": start, "delete": delete, "serve": serve}
    if flags.action not in actions:
        raise SystemExit(f"unknown action {flags.action!r}: expected start or delete")
    if not flags.id:
        raise SystemExit("shim id must be set with -id")
    if not flags.namespace:
        raise SystemExit("shim namespace must be set with -namespace")
    return actions[flags.action](flags)


if __name__ == "__main__":
    sys.exit(main())
