"""Container commands: create, run, start, stop, kill, rm, ps, logs, inspect, wait, exec."""

import argparse
import json
import sys

from .. import output
from ..client import CLIError
from . import networks
from . import stats as limits

# docker's exit statuses for a run that never got to the command
_DAEMON_ERROR, _CANNOT_INVOKE, _NOT_FOUND = 125, 126, 127


def _pb(client=None):
    if client is not None and client.lite:
        from .. import lite

        return lite
    from pyrunc_proto.pyrunc.containers.v1 import containers_pb2

    return containers_pb2


def _start_error(e) -> CLIError:
    """docker's run/exec statuses: 127 when the command is missing, 126 when it cannot be run."""
    text = e.details() or ""
    low = text.lower()
    status = _NOT_FOUND if ("not found" in low or "no such file" in low) else (
        _CANNOT_INVOKE if "permission denied" in low or "exec format" in low else _DAEMON_ERROR)
    return CLIError(f"pyctl: Error response from daemon: {text}", status)


def _env_file(path: str) -> list[str]:
    out = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(line)
    except OSError as e:
        raise CLIError(f"open {path}: {e.strerror}", _DAEMON_ERROR) from None
    return out


def _env(args) -> list[str]:
    import os

    out = []
    for f in args.env_file:
        out += _env_file(f)
    for item in args.env:
        # as docker: -e NAME alone passes the caller's value, or drops it when unset
        if "=" in item:
            out.append(item)
        elif item in os.environ:
            out.append(f"{item}={os.environ[item]}")
    return out


def _labels(items: list[str]) -> dict[str, str]:
    return dict((k, v) for k, _, v in (i.partition("=") for i in items))


_MAX_ID = 2147483647  # above it, the kernel's setresuid(-1) would leave the process root


def _user(text: str | None) -> str:
    """-u user[:group]: numeric ids in range, as runc and docker refuse them."""
    for part in (text or "").split(":", 1):
        if part.lstrip("-").isdigit() and not 0 <= int(part) <= _MAX_ID:
            raise CLIError(f'invalid argument "{text}" for "-u, --user" flag: uids and gids must be in range '
                           f"0-{_MAX_ID}", _DAEMON_ERROR)
    return text or ""


def _create(client, args) -> str:
    from ..client import rpc_errors

    pb = _pb(client)
    limits.check_run(args)
    cfg = pb.ContainerConfig(
        image=args.image, name=args.name or "", cmd=args.cmd, env=_env(args), workdir=args.workdir or "",
        user=_user(args.user), hostname=args.hostname or "", labels=_labels(args.label), tty=args.tty,
        open_stdin=args.interactive, network=args.network or "", runtime=args.runtime or "",
        auto_remove=getattr(args, "rm", False), volumes=args.volume, mounts=args.mount, tmpfs=args.tmpfs,
        volumes_from=args.volumes_from, log_opts=args.log_opt, **limits.config_fields(args))
    networks.fill_config(cfg, args)
    if args.entrypoint is not None:
        cfg.entrypoint_set = True
        cfg.entrypoint.extend([args.entrypoint] if args.entrypoint else [])
    try:
        return client.containers().Create(pb.CreateRequest(config=cfg)).id
    except rpc_errors() as e:
        raise CLIError(f"pyctl: Error response from daemon: {e.details()}", _DAEMON_ERROR) from None


def create(client, args) -> int:
    sys.stdout.write(_create(client, args) + "\n")
    return 0


def run(client, args) -> int:
    from ..client import rpc_errors

    client.lite = not (args.tty or args.interactive)  # Attach streams both ways: grpc's
    pb = _pb(client)
    cid = _create(client, args)
    if args.detach:
        try:
            client.containers().Start(pb.ContainerRef(id=cid))
        except rpc_errors() as e:
            raise _start_error(e) from None
        sys.stdout.write(cid + "\n")
        return 0
    if args.tty or args.interactive:
        from .terminal import attach

        try:
            return attach(client.containers(), pb, pb.AttachInput(id=cid, start=True), tty=args.tty,
                          stdin=args.interactive)
        except rpc_errors() as e:
            if args.rm:
                client.containers().Remove(pb.RemoveRequest(id=cid, force=True, volumes=True))
            raise _start_error(e) from None
    restore = _proxy_signals(client, cid)
    try:
        if (code := output.relay(client.containers().StartAttached(pb.ContainerRef(id=cid)))) is not None:
            return code
    except rpc_errors() as e:
        if args.rm:
            client.containers().Remove(pb.RemoveRequest(id=cid, force=True, volumes=True))
        raise _start_error(e) from None
    finally:
        restore()
    raise CLIError("pyctl: the daemon ended the stream before the container exited", _DAEMON_ERROR)


_PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")


def _proxy_signals(client, cid: str):
    """docker's --sig-proxy: signals pyctl gets go to the container (sent from a thread, off the handler)."""
    import signal

    pb = _pb(client)

    def forward(signum, _frame) -> None:
        import threading

        name = signal.Signals(signum).name
        threading.Thread(target=lambda: client.containers(own=True).Kill(pb.KillRequest(id=cid, signal=name)),
                         daemon=True).start()

    old = {name: signal.signal(getattr(signal, name), forward) for name in _PROXIED}
    return lambda: [signal.signal(getattr(signal, n), h) for n, h in old.items()]


def _each(client, args, call) -> int:
    return output.each(args.containers, call)


def start(client, args) -> int:
    pb = _pb()
    if args.attach or args.interactive:
        import grpc

        from .terminal import attach

        if len(args.containers) != 1:
            raise CLIError("you cannot start and attach multiple containers at once")
        doc = inspect_container(client, args.containers[0])
        if doc is None:
            raise CLIError(f"Error response from daemon: No such container: {args.containers[0]}")
        tty, stdin = doc["Config"]["Tty"], args.interactive and doc["Config"]["OpenStdin"]
        restore = (lambda: None) if tty else _proxy_signals(client, doc["Id"])
        try:
            return attach(client.containers(), pb, pb.AttachInput(id=doc["Id"], start=True), tty=tty, stdin=stdin)
        except grpc.RpcError as e:
            raise _start_error(e) from None
        finally:
            restore()
    return _each(client, args, lambda n: client.containers().Start(pb.ContainerRef(id=n)))


def stop(client, args) -> int:
    pb = _pb()
    req = lambda n: pb.StopRequest(id=n, timeout=args.time or 0, timeout_set=args.time is not None)  # noqa: E731
    return _each(client, args, lambda n: client.containers().Stop(req(n)))


def kill(client, args) -> int:
    pb = _pb()
    return _each(client, args, lambda n: client.containers().Kill(pb.KillRequest(id=n, signal=args.signal)))


def rm(client, args) -> int:
    pb = _pb()
    return _each(client, args, lambda n: client.containers().Remove(pb.RemoveRequest(id=n, force=args.force,
                                                                            volumes=args.volumes)))


def _status(c) -> str:
    if c.status == "running":
        return "Up " + output.human_duration(_age(c.started_at)) + limits.status_suffix(json.loads(c.inspect_json))
    if c.status == "restarting":
        return f"Restarting ({c.exit_code}) {output.since(c.finished_at)}"
    if c.status == "paused":
        return "Up " + output.human_duration(_age(c.started_at)) + " (Paused)"
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {output.since(c.finished_at)}"
    return c.status.capitalize()


def _age(text: str) -> float:
    import datetime

    t = output.parse_time(text)
    return (datetime.datetime.now(datetime.UTC) - t).total_seconds() if t else 0


def _filters(items: list[str]) -> list[tuple[str, str]]:
    out = []
    for f in items:
        k, eq, v = f.partition("=")
        if not eq or k not in ("name", "status", "id", "label"):
            raise CLIError(f"invalid filter {f!r}: want name=, status=, id= or label=")
        out.append((k, v))
    return out


def _matches(c, filters) -> bool:
    by: dict[str, list[bool]] = {}
    for k, v in filters:
        ok = {"name": v in c.name, "status": c.status == v, "id": c.id.startswith(v),
              "label": (c.labels.get(v.partition("=")[0]) == v.partition("=")[2]) if "=" in v else v in c.labels}[k]
        by.setdefault(k, []).append(ok)
    return all(any(v) for v in by.values())  # as docker: OR within a key, AND across keys


def ps(client, args) -> int:
    pb = _pb()
    filters = _filters(args.filter)
    show_all = args.all or any(k == "status" for k, _ in filters)
    cs = [c for c in client.containers().List(pb.ListRequest(all=show_all)).containers if _matches(c, filters)]
    if args.quiet:
        sys.stdout.write("".join((c.id if args.no_trunc else c.id[:12]) + "\n" for c in cs))
        return 0
    rows = []
    for c in cs:
        cmd = c.command if args.no_trunc or len(c.command) <= 20 else c.command[:19] + "…"
        rows.append({"ID": c.id if args.no_trunc else c.id[:12], "Image": c.image, "Command": json.dumps(cmd, ensure_ascii=False),
                     "CreatedAt": c.created, "RunningFor": output.since(c.created), "Status": _status(c),
                     "State": c.status, "Names": c.name, "Ports": networks.ports_column(c.inspect_json),
                     "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.labels.items()))})
    output.listing(args.format, rows, ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
                   ["ID", "Image", "Command", "RunningFor", "Status", "Ports", "Names"])
    return 0


def logs(client, args) -> int:
    pb = _pb()
    tail = -1 if args.tail in ("all", "-1") else int(args.tail)
    req = pb.LogsRequest(id=args.container, follow=args.follow, tail=tail, since=args.since or "")
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for e in client.containers().Logs(req):
        f = err if e.stream == "stderr" else out
        f.write((e.time.encode() + b" " if args.timestamps else b"") + e.data)
        f.flush()
    return 0


def inspect_container(client, name: str) -> dict | None:
    import grpc

    try:
        return json.loads(client.containers().Inspect(_pb().ContainerRef(id=name)).inspect_json)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None


def inspect(client, args) -> int:
    """Containers first, then images, as `docker inspect` looks them up."""
    import grpc
    from pyrunc_proto.pyrunc.images.v1 import images_pb2

    from .images import inspect_doc

    docs, status = [], 0
    for name in args.names:
        doc = inspect_container(client, name) if args.type in ("", "container") else None
        if doc is None and args.type in ("", "image"):
            try:
                doc = inspect_doc(client.images.Get(images_pb2.GetImageRequest(reference=name)))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
        if doc is None:
            # docker says "No such object"; the image wording is kept for the image commands' users
            sys.stderr.write(f"Error: No such {'container' if args.type == 'container' else 'image'}: {name}\n")
            status = 1
            continue
        docs.append(doc)
    output.inspect_docs(docs, args.format)
    return status


def wait(client, args) -> int:
    import grpc

    pb = _pb()
    status = 0
    for name in args.containers:
        try:
            sys.stdout.write(f"{client.containers().Wait(pb.ContainerRef(id=name)).status_code}\n")
            sys.stdout.flush()
        except grpc.RpcError as e:
            sys.stderr.write(f"Error response from daemon: {e.details()}\n")
            status = 1
    return status


def exec_(client, args) -> int:
    import grpc

    pb = _pb()
    env = []
    for f in args.env_file:
        env += _env_file(f)
    env += args.env
    req = pb.ExecRequest(id=args.container, cmd=args.cmd, env=env, workdir=args.workdir or "",
                         user=_user(args.user), tty=args.tty, interactive=args.interactive)
    try:
        if args.tty or args.interactive:
            from .terminal import attach

            return attach(client.containers(), pb, pb.AttachInput(id=args.container, exec=req), tty=args.tty,
                          stdin=args.interactive)
        if (code := output.relay(client.containers().Exec(req))) is not None:
            return code
    except grpc.RpcError as e:
        if e.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
            raise CLIError(f"Error response from daemon: {e.details()}") from None
        raise _start_error(e) from None
    raise CLIError("pyctl: the daemon ended the stream before the process exited", _DAEMON_ERROR)


def restart(client, args) -> int:
    pb = _pb()
    req = lambda n: pb.StopRequest(id=n, timeout=args.time or 0, timeout_set=args.time is not None)  # noqa: E731
    return _each(client, args, lambda n: client.containers().Restart(req(n)))


def pause(client, args) -> int:
    pb = _pb()
    return _each(client, args, lambda n: client.containers().Pause(pb.ContainerRef(id=n)))


def unpause(client, args) -> int:
    pb = _pb()
    return _each(client, args, lambda n: client.containers().Unpause(pb.ContainerRef(id=n)))


def rename(client, args) -> int:
    client.containers().Rename(_pb().RenameRequest(id=args.container, new_name=args.new_name))
    return 0


def top(client, args) -> int:
    r = client.containers().Top(_pb().TopRequest(id=args.container, ps_args=args.ps_args))
    output.table(list(r.titles), [list(p.fields) + [""] * (len(r.titles) - len(p.fields)) for p in r.processes])
    return 0


def prune(client, args) -> int:
    if not args.force and not output.confirm("This will remove all stopped containers."):
        return 0
    r = client.containers().Prune(_pb().PruneRequest())
    if r.deleted:
        sys.stdout.write("Deleted Containers:\n" + "".join(i + "\n" for i in r.deleted) + "\n")
    sys.stdout.write(f"Total reclaimed space: {output.human_size(r.space_reclaimed)}\n")
    return 0


def events(client, args) -> int:
    for e in client.containers().Events(_pb().EventsRequest()):
        if args.format == "json":
            sys.stdout.write(json.dumps({"Type": e.type, "Action": e.action, "id": e.id, "time": e.time,
                                         "Actor": {"ID": e.id, "Attributes": dict(e.attributes)}}) + "\n")
        else:
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(e.attributes.items()))
            sys.stdout.write(f"{e.time} {e.type} {e.action} {e.id} ({attrs})\n")
        sys.stdout.flush()
    return 0


def _split_cp(arg: str) -> tuple[str, str]:
    """CONTAINER:PATH -> (container, path); a local path -> ("", path), as docker tells them apart."""
    name, colon, path = arg.partition(":")
    if not colon or "/" in name or arg.startswith((".", "/")):
        return "", arg
    return name, path


def _extract(tar, dest: str) -> None:
    """Into DEST when it is a directory, else as DEST (the archive's top entry renamed), as docker cp does."""
    import os

    if os.path.isdir(dest):
        tar.extractall(dest, filter="tar")
        return
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise CLIError(f"destination directory {parent!r} does not exist")
    new = os.path.basename(os.path.abspath(dest))
    for m in tar:
        top = m.name.split("/")[0]
        m.name = new + m.name[len(top):]
        tar.extract(m, parent, filter="tar")


def cp(client, args) -> int:
    import tarfile
    import tempfile

    pb = _pb()
    src_c, src = _split_cp(args.src)
    dst_c, dst = _split_cp(args.dest)
    if bool(src_c) == bool(dst_c):
        raise CLIError("copying between containers or between local paths is not supported: "
                       "one of SRC and DEST must be CONTAINER:PATH")
    if src_c:
        stream = client.containers().CopyFrom(pb.CopyFromRequest(id=src_c, path=src))
        if dst == "-":
            for c in stream:
                sys.stdout.buffer.write(c.data)
            return 0
        with tempfile.TemporaryFile() as spool:
            for c in stream:
                spool.write(c.data)
            spool.seek(0)
            with tarfile.open(fileobj=spool, mode="r|") as tar:
                _extract(tar, dst)
        return 0

    def chunks(f):
        yield pb.CopyToChunk(id=dst_c, path=dst)
        while data := f.read(1 << 20):
            yield pb.CopyToChunk(data=data)

    if src == "-":
        client.containers().CopyTo(chunks(sys.stdin.buffer))
        return 0
    import os

    if not os.path.lexists(src):
        raise CLIError(f"lstat {src}: no such file or directory")
    with tempfile.TemporaryFile() as spool:
        with tarfile.open(fileobj=spool, mode="w|") as tar:
            tar.add(src, arcname=os.path.basename(os.path.abspath(src)))
        spool.seek(0)
        client.containers().CopyTo(chunks(spool))
    return 0


def attach_(client, args) -> int:
    from .terminal import attach

    doc = inspect_container(client, args.container)
    if doc is None:
        raise CLIError(f"Error: No such container: {args.container}")
    cfg = doc["Config"]
    return attach(client.containers(), _pb(), _pb().AttachInput(id=doc["Id"]), tty=cfg["Tty"],
                  stdin=cfg["OpenStdin"] and not args.no_stdin)


# ---- argument parsers


def _help(p) -> None:
    # -h is --hostname in docker's create/run, so help is only --help
    p.add_argument("--help", action="help", help="show this help message and exit")


def _add_create_flags(p) -> None:
    _help(p)
    p.add_argument("--name", help="assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="set an environment variable (KEY=VALUE)")
    p.add_argument("--env-file", action="append", default=[], help="read environment variables from a file")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    p.add_argument("-u", "--user", help="user[:group], by name or number")
    p.add_argument("--entrypoint", help="override the image's entrypoint")
    p.add_argument("-h", "--hostname", help="container host name")
    p.add_argument("-l", "--label", action="append", default=[], help="set a label (KEY=VALUE)")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    networks.add_run_flags(p)
    p.add_argument("--runtime", help="pyrunc (default) or runc")
    p.add_argument("-v", "--volume", action="append", default=[], help="bind or volume mount [SOURCE:]TARGET[:MODE]")
    p.add_argument("--mount", action="append", default=[], help="type=bind|volume|tmpfs,source=,target=,...")
    p.add_argument("--tmpfs", action="append", default=[], help="a tmpfs at PATH[:OPTIONS]")
    p.add_argument("--volumes-from", action="append", default=[], help="CONTAINER[:ro|rw]: its mounts too")
    limits.add_create_flags(p)
    p.add_argument("--log-opt", action="append", default=[],
                   help="json-file log option KEY=VALUE: max-size (10m), max-file (3); default: the daemon's")
    p.add_argument("image")
    p.add_argument("cmd", nargs=argparse.REMAINDER)


def add_create(p) -> None:
    _add_create_flags(p)
    p.set_defaults(func=create)


def add_run(p) -> None:
    _add_create_flags(p)
    p.add_argument("-d", "--detach", action="store_true", help="run in the background and print the id")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.set_defaults(func=run)


def add_start(p) -> None:
    p.add_argument("-a", "--attach", action="store_true", help="attach its output; exit with its exit code")
    p.add_argument("-i", "--interactive", action="store_true", help="attach its STDIN")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=start)


def add_stop(p) -> None:
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait before killing (default 10)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=stop)


def add_kill(p) -> None:
    p.add_argument("-s", "--signal", default="", help="signal to send (default KILL)")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=kill)


def add_rm(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    p.add_argument("-v", "--volumes", action="store_true", help="remove its anonymous volumes too")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=rm)


def add_ps(p) -> None:
    p.add_argument("-a", "--all", action="store_true", help="show all containers (default: running)")
    p.add_argument("-q", "--quiet", action="store_true", help="only show container IDs")
    p.add_argument("--no-trunc", action="store_true", help="don't truncate output")
    p.add_argument("-f", "--filter", action="append", default=[], help="name=, status=, id=, label=")
    p.add_argument("--format", default="", help="json: one JSON object per line")
    p.set_defaults(func=ps)


def add_logs(p) -> None:
    p.add_argument("-f", "--follow", action="store_true", help="follow the output")
    p.add_argument("-n", "--tail", default="all", help="lines from the end (default all)")
    p.add_argument("-t", "--timestamps", action="store_true", help="show timestamps")
    p.add_argument("--since", help="since a time (RFC 3339, unix) or a duration (10m)")
    p.add_argument("container")
    p.set_defaults(func=logs)


def add_inspect(p, type_: str = "") -> None:
    p.add_argument("-f", "--format", default="", help="a {{.Field}} template")
    if not type_:
        p.add_argument("--type", default="", choices=["", "container", "image"])
    else:
        p.set_defaults(type=type_)
    p.add_argument("names", nargs="+", metavar="NAME")
    p.set_defaults(func=inspect)


def add_wait(p) -> None:
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=wait)


def add_exec(p) -> None:
    p.add_argument("-e", "--env", action="append", default=[], help="set an environment variable")
    p.add_argument("--env-file", action="append", default=[], help="read environment variables from a file")
    p.add_argument("-w", "--workdir", help="working directory")
    p.add_argument("-u", "--user", help="user[:group]")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("container")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(func=exec_)


def add_attach(p) -> None:
    p.add_argument("--no-stdin", action="store_true", help="do not attach STDIN")
    p.add_argument("container")
    p.set_defaults(func=attach_)


def _names(p, func) -> None:
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(func=func)


def add_restart(p) -> None:
    p.add_argument("-t", "--time", type=int, default=None, help="seconds to wait before killing (default 10)")
    _names(p, restart)


def add_pause(p) -> None:
    _names(p, pause)


def add_unpause(p) -> None:
    _names(p, unpause)


def add_rename(p) -> None:
    p.add_argument("container")
    p.add_argument("new_name")
    p.set_defaults(func=rename)


def add_top(p) -> None:
    p.add_argument("container")
    p.add_argument("ps_args", nargs=argparse.REMAINDER, help="ps options (default -ef)")
    p.set_defaults(func=top)


def add_prune(p) -> None:
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.set_defaults(func=prune)


def add_events(p) -> None:
    p.add_argument("--format", default="", help="json: one JSON object per line")
    p.set_defaults(func=events)


def add_cp(p) -> None:
    p.add_argument("src", metavar="SRC", help="CONTAINER:PATH or a local path (- for a tar on stdin)")
    p.add_argument("dest", metavar="DEST", help="CONTAINER:PATH or a local path (- for a tar on stdout)")
    p.set_defaults(func=cp)
