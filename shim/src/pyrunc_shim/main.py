"""Entry points of containerd-shim-pyrunc-v2, as containerd invokes them:

  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -id ID -bundle DIR delete
  containerd-shim-pyrunc-v2 -v

`start` runs in the bundle directory: it binds the ttrpc socket, forks the server into its own
session (so it outlives containerd), writes the address to ./address, prints it and exits 0.
`delete` cleans up after a shim that died and prints a protobuf DeleteResponse.
"""

import hashlib
import os
import socket
import sys
from dataclasses import dataclass

from . import __version__

SOCKET_DIR = "/run/pyrunc-shim"
SIGKILL_EXIT = 128 + 9


@dataclass
class Flags:
    namespace: str = ""
    address: str = ""
    publish_binary: str = ""
    id: str = ""
    bundle: str = ""
    debug: bool = False
    version: bool = False
    action: str = ""


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
    digest = hashlib.sha256(f"{containerd_address}/{namespace}/{cid}".encode()).hexdigest()
    return f"unix://{SOCKET_DIR}/{digest}"


def _listen(address: str) -> socket.socket:
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
    bundle = os.getcwd()
    address = socket_address(flags.address, flags.namespace, flags.id)
    listener = _listen(address)
    with open(os.path.join(bundle, "address"), "w") as f:
        f.write(address)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            _detach_stdio(bundle)
            serve(listener, address, flags, bundle, options)
        finally:
            os._exit(0)
    with open(os.path.join(bundle, "shim.pid"), "w") as f:
        f.write(str(pid))
    sys.stdout.write(address)
    sys.stdout.flush()
    return 0


def _detach_stdio(bundle: str) -> None:
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


def serve(listener: socket.socket, address: str, flags: Flags, bundle: str, options: bytes) -> None:
    from .events import Publisher
    from .reaper import Reaper
    from .task import TaskService
    from .ttrpc.server import Server

    publisher = Publisher(os.environ.get("TTRPC_ADDRESS", ""), flags.namespace)
    service = TaskService(flags.id, flags.namespace, publisher, options)
    service.bundle = bundle
    server = Server(listener, service.handlers())
    reaper = Reaper(service.on_exit)
    server.add_reader(reaper.rfd, reaper.drain)
    server.serve(done=lambda: service.shutdown_requested)
    publisher.flush()
    listener.close()
    try:
        os.unlink(address.removeprefix("unix://"))
    except OSError:
        pass


def delete(flags: Flags) -> int:
    """Clean up after a dead shim: force-delete the container, unmount its rootfs."""
    import json

    from google.protobuf import timestamp_pb2
    from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2

    from .runc import DEFAULT_BINARY, Runc, RuncError, default_root, resolve_binary
    from .task import OPTIONS_FILE, unmount_rootfs

    bundle = flags.bundle or os.getcwd()
    try:
        with open(os.path.join(bundle, OPTIONS_FILE)) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = {}
    try:
        binary = saved.get("binary") or resolve_binary(DEFAULT_BINARY)
        root = saved.get("root") or default_root(binary, "", flags.namespace)
        Runc(binary, root, os.path.join(bundle, "log.json")).delete(flags.id, force=True)
    except RuncError:
        pass  # nothing left to delete, or no runtime at all: the rest of the cleanup still holds
    unmount_rootfs(os.path.join(bundle, "rootfs"))
    try:
        os.unlink(socket_address(flags.address, flags.namespace, flags.id).removeprefix("unix://"))
    except OSError:
        pass
    ts = timestamp_pb2.Timestamp()
    ts.GetCurrentTime()
    resp = shim_pb2.DeleteResponse(exit_status=SIGKILL_EXIT, exited_at=ts)
    sys.stdout.buffer.write(resp.SerializeToString())
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    flags = parse_flags(sys.argv[1:] if argv is None else argv)
    if flags.version:
        print(f"containerd-shim-pyrunc-v2:\n  Version:  {__version__}")
        return 0
    if not flags.id and flags.action in ("start", "delete"):
        raise SystemExit("shim id must be set with -id")
    if not flags.namespace and flags.action in ("start", "delete"):
        raise SystemExit("shim namespace must be set with -namespace")
    if flags.action == "start":
        return start(flags)
    if flags.action == "delete":
        return delete(flags)
    raise SystemExit(f"unknown action {flags.action!r}: expected start or delete")


if __name__ == "__main__":
    sys.exit(main())
