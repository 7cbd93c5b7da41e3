"""Entry points of containerd-shim-pyrunc-v2, as containerd invokes them:

  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -publish-binary BIN -id ID [-debug] start
  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -id ID -bundle DIR delete
  containerd-shim-pyrunc-v2 -v
  containerd-shim-pyrunc-v2 -namespace NS -address ADDR -publish-binary BIN zygote   (pyruncd's: zygote.py)

`start` runs in the bundle directory: it binds the ttrpc socket, writes the address to
./address, forks the server into its own session (so it outlives containerd), prints the address
and exits 0. It forks before it reads the options containerd sent on stdin (TOML, maybe) and
hands them over through a pipe, so the server carries nothing it does not need: it lives as
long as the container, one per container. `delete` cleans up after a shim that died and prints
a protobuf DeleteResponse.
"""

import gc
import os
import sys

from . import __version__
from .serving import Identity, detach_stdio, import_server, listen, new_socket_address, record, serve_task

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    import _socket

    from .options import RuntimeOptions

SIGKILL_EXIT = 128 + 9


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


def start(flags: Flags) -> int:
    # no collections while the server imports its modules (their objects all live on: ~0.3 ms of
    # passes over them), nor in `start`, which leaves by os._exit
    gc.disable()
    options = b"" if sys.stdin.isatty() else sys.stdin.buffer.read()
    bundle = os.getcwd()
    address = new_socket_address()
    listener = listen(address)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(w)
            os.setsid()
            detach_stdio(bundle)
            serve(flags, listener, r, bundle)
        finally:
            os._exit(0)
    os.close(r)
    try:
        handoff = _serve_input(options)
    except SystemExit:
        os.close(w)  # the server reads nothing and leaves
        listener.close()
        os.unlink(address.removeprefix("unix://"))
        raise
    os.write(w, handoff)  # a few hundred bytes: fits in the pipe buffer
    os.close(w)
    record(bundle, address, pid)
    sys.stdout.write(address)
    sys.stdout.flush()
    os._exit(0)  # interpreter teardown is ~5 ms of the container's start, and nothing is left to do


def _serve_input(options: bytes) -> bytes:
    """What the server needs from `start`: the options containerd sent, then the runtime config
    file they name, pre-read here (TOML) so the server never loads tomllib."""
    if not options:  # pyruncd sends none: spare `start` the protobuf tables (~7 ms)
        return b"\n"
    from .options import ConfigFileError, config_path_of, load_config_file

    try:
        path = config_path_of(options)
        config = load_config_file(path) if path else {}
    except ConfigFileError as e:
        raise SystemExit(str(e)) from e
    except ValueError as e:  # not protobuf, or not UTF-8 where strings belong
        raise SystemExit(f"options on stdin: {e}") from e
    return "\n".join([options.hex(), path] + [f"{k}={v}" for k, v in config.items()]).encode()


def _read_serve_input(fd: int) -> "tuple[bytes, dict[str, RuntimeOptions]] | None":
    """None when `start` gave up (it closed the pipe without writing)."""
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    if not data:
        return None
    lines = data.decode().split("\n")
    options, path = bytes.fromhex(lines[0]), lines[1] if len(lines) > 1 else ""
    if not path:
        return options, {}
    values = {}
    for line in lines[2:]:
        key, _, value = line.partition("=")
        values[key] = value
    # read_config_file's four fields, as _serve_input wrote them
    config: RuntimeOptions = {"binary_name": values["binary_name"], "root": values["root"],
                              "no_pivot_root": values["no_pivot_root"] == "True",
                              "no_new_keyring": values["no_new_keyring"] == "True"}
    return options, {path: config}


def serve(flags: Flags, listener: "_socket.socket", handoff: int, bundle: str) -> None:
    import_server()
    gc.enable()
    received = _read_serve_input(handoff)
    if received is not None:
        serve_task(Identity(flags.id, flags.namespace, flags.publish_binary, flags.address), listener, bundle,
                   *received)


def delete(flags: Flags) -> int:
    """Clean up after a dead shim: force-delete the container, unmount its rootfs. containerd runs
    it after every task's shim exits and waits for it, so it imports only what it has work for."""
    import time

    from pyrunc_proto import wire

    from .runc import RUNTIME_FILE

    bundle = flags.bundle or os.getcwd()
    try:
        with open(os.path.join(bundle, RUNTIME_FILE)) as f:
            binary, root = f.read().split("\n")[:2]
    except FileNotFoundError:
        pass  # never created, or deleted through the Task API: no container to remove
    else:
        from .runc import DEFAULT_BINARY, Runc, RuncError, default_root, resolve_binary

        try:
            binary = binary or resolve_binary(DEFAULT_BINARY, sys.argv[0])
            root = root or default_root(binary, "", flags.namespace)
            Runc(binary, root, os.path.join(bundle, "log.json")).delete(flags.id, force=True)
        except RuncError:
            pass  # nothing left to delete: the rest of the cleanup still holds
    rootfs = os.path.join(bundle, "rootfs")
    if os.path.ismount(rootfs):
        from .mounts import unmount_rootfs

        unmount_rootfs(rootfs)
    try:  # the socket of the dead server, as `start` recorded it
        with open(os.path.join(bundle, "address")) as f:
            os.unlink(f.read().strip().removeprefix("unix://"))
    except OSError:
        pass
    resp = wire.encode("containerd.task.v2.DeleteResponse", exit_status=SIGKILL_EXIT,
                       exited_at=wire.timestamp(time.time_ns()))
    sys.stdout.buffer.write(resp)
    sys.stdout.flush()
    os._exit(0)  # as `start`: the interpreter's teardown (~2 ms under load) is containerd's wait


def main(argv: list[str] | None = None) -> int:
    flags = parse_flags(sys.argv[1:] if argv is None else argv)
    if flags.version:
        print(f"containerd-shim-pyrunc-v2:\n  Version:  {__version__}")
        return 0
    if flags.action == "zygote":  # pyruncd's: no containerd runs it
        from .zygote import run

        return run(flags.namespace, flags.publish_binary, flags.address)
    actions = {"start": start, "delete": delete}
    if flags.action not in actions:
        raise SystemExit(f"unknown action {flags.action!r}: expected start or delete")
    if not flags.id:
        raise SystemExit("shim id must be set with -id")
    if not flags.namespace:
        raise SystemExit("shim namespace must be set with -namespace")
    return actions[flags.action](flags)


if __name__ == "__main__":
    sys.exit(main())
