"""containerd.task.v2.Task: thin RPC adapters over the container's processes and the runtime CLI."""

import json
import os
import subprocess

from google.protobuf import any_pb2, empty_pb2
from pyrunc_proto.containerd.events import task_pb2 as events
from pyrunc_proto.containerd.runc.options import oci_pb2
from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api

from . import __version__
from .events import Publisher
from .process import Console, Process, State, Stdio
from .runc import DEFAULT_BINARY, Runc, RuncError, default_root, resolve_binary
from .ttrpc.server import DEFERRED, Call
from .ttrpc.status import Code, TtrpcError

SERVICE = "containerd.task.v2.Task"
OPTIONS_FILE = "options.json"  # what `delete` needs after a crash: the binary and root used
EMPTY = empty_pb2.Empty().SerializeToString()
PROCESS_DETAILS_URL = "containerd.runc.v1.ProcessDetails"


def parse_options(data) -> dict:
    """The runtime options containerd passes (an Any, or its bytes) -> the fields we honour.

    containerd.runc.v1.Options is what `ctr run --runc-binary X` sends, but ctr 1.6 only allows
    that flag for io.containerd.runc.v2; for other runtimes it sends runtimeoptions.v1.Options
    (`--runtime-config-path FILE`), so we read FILE as TOML with the same keys as containerd's
    CRI runc options: BinaryName, Root, NoPivotRoot, NoNewKeyring.
    """
    if not data:
        return {}
    opts = data if isinstance(data, any_pb2.Any) else any_pb2.Any.FromString(data)
    if opts.type_url.endswith("containerd.runc.v1.Options"):
        o = oci_pb2.Options.FromString(opts.value)
        return {"binary_name": o.binary_name, "root": o.root, "no_pivot_root": o.no_pivot_root,
                "no_new_keyring": o.no_new_keyring}
    if opts.type_url.endswith("runtimeoptions.v1.Options"):
        from pyrunc_proto.containerd.runtimeoptions.v1 import api_pb2

        path = api_pb2.Options.FromString(opts.value).config_path
        return read_config_file(path) if path else {}
    return {}


def read_config_file(path: str) -> dict:
    import tomllib

    try:
        with open(path, "rb") as f:
            conf = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise TtrpcError(Code.INVALID_ARGUMENT, f"runtime config path {path!r}: {e}") from e
    return {"binary_name": str(conf.get("BinaryName", "")), "root": str(conf.get("Root", "")),
            "no_pivot_root": bool(conf.get("NoPivotRoot", False)),
            "no_new_keyring": bool(conf.get("NoNewKeyring", False))}


def make_runc(bundle: str, namespace: str, options: dict) -> Runc:
    binary = resolve_binary(options.get("binary_name") or DEFAULT_BINARY)
    root = default_root(binary, options.get("root", ""), namespace)
    return Runc(binary=binary, root=root, log=os.path.join(bundle, "log.json"))


def mount_rootfs(mounts, target: str) -> None:
    for m in mounts:
        args = ["mount", "-t", m.type]
        if m.options:
            args += ["-o", ",".join(m.options)]
        proc = subprocess.run([*args, m.source, target], capture_output=True, check=False)
        if proc.returncode != 0:
            raise TtrpcError(Code.UNKNOWN, f"mount rootfs {m.type} on {target}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")


def unmount_rootfs(target: str) -> None:
    """Unmount every layer stacked on the rootfs (lazily if busy); a no-op when nothing is there."""
    while os.path.ismount(target):
        if subprocess.run(["umount", target], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)
            break


class TaskService:
    def __init__(self, container_id: str, namespace: str, publisher: Publisher,
                 start_options: bytes = b"") -> None:
        self.id = container_id
        self.namespace = namespace
        self.publisher = publisher
        self.start_options = start_options
        self.bundle = ""
        self.runc: Runc | None = None
        self.init: Process | None = None
        self.execs: dict[str, Process] = {}
        self.rootfs_mounted = False
        self.shutdown_requested = False

    def handlers(self) -> dict:
        names = ["State", "Create", "Start", "Delete", "Pids", "Pause", "Resume", "Checkpoint",
                 "Kill", "Exec", "ResizePty", "CloseIO", "Update", "Wait", "Stats", "Connect", "Shutdown"]
        return {(SERVICE, n): getattr(self, n.lower()) for n in names}

    # ----- lookups

    def _process(self, cid: str, exec_id: str) -> Process:
        if self.init is None or cid != self.id:
            raise TtrpcError(Code.NOT_FOUND, f"container {cid!r} not found")
        if not exec_id:
            return self.init
        p = self.execs.get(exec_id)
        if p is None:
            raise TtrpcError(Code.NOT_FOUND, f"process {exec_id!r} of container {cid!r} not found")
        return p

    def _runtime_error(self, e: RuncError) -> TtrpcError:
        return TtrpcError(Code.UNKNOWN, str(e))

    # ----- process exits (from the reaper)

    def on_exit(self, pid: int, status: int) -> None:
        procs = ([self.init] if self.init else []) + list(self.execs.values())
        for p in procs:
            if p.pid == pid and not p.exited:
                p.set_exited(status)
                self._publish_exit(p)
                waiters, p.waiters = p.waiters, []
                for call in waiters:
                    call.reply(self._wait_response(p))

    def _publish_exit(self, p: Process) -> None:
        ev = events.TaskExit(container_id=self.id, id=p.exec_id or self.id, pid=p.pid,
                             exit_status=p.exit_status)
        ev.exited_at.FromNanoseconds(p.exited_at_ns)
        self.publisher.publish(ev)

    # ----- RPCs

    def create(self, call: Call) -> bytes:
        req = api.CreateTaskRequest.FromString(call.payload)
        if self.init is not None:
            raise TtrpcError(Code.ALREADY_EXISTS, f"container {req.id!r} already exists")
        if req.checkpoint:
            raise TtrpcError(Code.UNIMPLEMENTED, "restoring from a checkpoint is not implemented")
        options = parse_options(req.options) if req.HasField("options") else parse_options(self.start_options)
        self.id, self.bundle = req.id, req.bundle
        try:
            self.runc = make_runc(req.bundle, self.namespace, options)
        except RuncError as e:
            raise TtrpcError(Code.NOT_FOUND, str(e)) from e
        with open(os.path.join(req.bundle, OPTIONS_FILE), "w") as f:
            json.dump({"binary": self.runc.binary, "root": self.runc.root}, f)
        rootfs = os.path.join(req.bundle, "rootfs")
        if req.rootfs:
            os.makedirs(rootfs, exist_ok=True)
            mount_rootfs(req.rootfs, rootfs)
            self.rootfs_mounted = True
        p = Process("", Stdio(req.stdin, req.stdout, req.stderr, req.terminal))
        try:
            self._run_process(p, lambda stdio, sock, pid_file: self.runc.create(
                req.id, req.bundle, pid_file, sock, options.get("no_pivot_root", False),
                options.get("no_new_keyring", False), stdio), "init.pid")
        except BaseException:
            if self.rootfs_mounted:
                unmount_rootfs(rootfs)
                self.rootfs_mounted = False
            raise
        self.init = p
        ev = events.TaskCreate(container_id=req.id, bundle=req.bundle, pid=p.pid,
                               checkpoint=req.checkpoint)
        ev.rootfs.extend(req.rootfs)
        ev.io.CopyFrom(events.TaskIO(stdin=req.stdin, stdout=req.stdout, stderr=req.stderr,
                                     terminal=req.terminal))
        self.publisher.publish(ev)
        return api.CreateTaskResponse(pid=p.pid).SerializeToString()

    def _run_process(self, p: Process, run, pid_name: str) -> None:
        """Run `runc create` or `runc exec` with the process's stdio or console; record its pid."""
        console = Console() if p.stdio.terminal else None
        pid_file = os.path.join(self.bundle, pid_name)
        stdio = p.open_stdio()
        try:
            run(stdio, console.path if console else "", pid_file)
            if console:
                p.attach_console(console.receive_master())
            with open(pid_file) as f:
                p.pid = int(f.read().strip())
        except RuncError as e:
            p.close_stdin()
            raise self._runtime_error(e) from e
        finally:
            p.close_child_stdio()
            if console:
                console.close()

    def start(self, call: Call) -> bytes:
        req = api.StartRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        if p.state != State.CREATED:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"process {req.exec_id or req.id!r} is {p.state.name.lower()}, not created")
        if p is self.init:
            try:
                self.runc.start(self.id)
            except RuncError as e:
                raise self._runtime_error(e) from e
            p.state = State.RUNNING
            self.publisher.publish(events.TaskStart(container_id=self.id, pid=p.pid))
        else:
            if self.init.state != State.RUNNING:
                raise TtrpcError(Code.FAILED_PRECONDITION, f"container {self.id!r} is not running")
            spec_file = os.path.join(self.bundle, f"exec-{req.exec_id}.json")
            with open(spec_file, "wb") as f:
                f.write(p.spec)
            try:
                self._run_process(p, lambda stdio, sock, pid_file: self.runc.exec(
                    self.id, spec_file, pid_file, sock, stdio), f"exec-{req.exec_id}.pid")
            finally:
                os.unlink(spec_file)
            p.state = State.RUNNING
            self.publisher.publish(events.TaskExecStarted(container_id=self.id, exec_id=req.exec_id, pid=p.pid))
        return api.StartResponse(pid=p.pid).SerializeToString()

    def delete(self, call: Call) -> bytes:
        req = api.DeleteRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        if p.state in (State.RUNNING, State.PAUSED):
            raise TtrpcError(Code.FAILED_PRECONDITION, f"cannot delete running process {req.exec_id or req.id!r}")
        resp = api.DeleteResponse(pid=p.pid, exit_status=p.exit_status)
        if p.exited:
            resp.exited_at.FromNanoseconds(p.exited_at_ns)
        if p is not self.init:
            del self.execs[req.exec_id]
            return resp.SerializeToString()
        try:
            self.runc.delete(self.id, force=p.state == State.CREATED)
        except RuncError as e:
            if "does not exist" not in str(e) and "not found" not in str(e):
                raise self._runtime_error(e) from e
        if self.rootfs_mounted:
            unmount_rootfs(os.path.join(self.bundle, "rootfs"))
            self.rootfs_mounted = False
        ev = events.TaskDelete(container_id=self.id, pid=p.pid, exit_status=p.exit_status, id=self.id)
        ev.exited_at.CopyFrom(resp.exited_at)
        self.publisher.publish(ev)
        self.init = None
        self.execs.clear()
        return resp.SerializeToString()

    def state(self, call: Call) -> bytes:
        req = api.StateRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        resp = api.StateResponse(id=p.exec_id or self.id, bundle=self.bundle, pid=p.pid,
                                 status=p.state.value, stdin=p.stdio.stdin, stdout=p.stdio.stdout,
                                 stderr=p.stdio.stderr, terminal=p.stdio.terminal,
                                 exit_status=p.exit_status, exec_id=p.exec_id)
        if p.exited:
            resp.exited_at.FromNanoseconds(p.exited_at_ns)
        return resp.SerializeToString()

    def pids(self, call: Call) -> bytes:
        req = api.PidsRequest.FromString(call.payload)
        self._process(req.id, "")
        try:
            pids = self.runc.ps(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        by_pid = {p.pid: p.exec_id for p in self.execs.values()}
        resp = api.PidsResponse()
        for pid in pids:
            info = resp.processes.add(pid=pid)
            if pid in by_pid:
                details = oci_pb2.ProcessDetails(exec_id=by_pid[pid])
                info.info.CopyFrom(any_pb2.Any(type_url=PROCESS_DETAILS_URL, value=details.SerializeToString()))
        return resp.SerializeToString()

    def pause(self, call: Call) -> bytes:
        req = api.PauseRequest.FromString(call.payload)
        p = self._process(req.id, "")
        if p.state != State.RUNNING:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"container {req.id!r} is {p.state.name.lower()}, not running")
        try:
            self.runc.pause(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        p.state = State.PAUSED
        self.publisher.publish(events.TaskPaused(container_id=self.id))
        return EMPTY

    def resume(self, call: Call) -> bytes:
        req = api.ResumeRequest.FromString(call.payload)
        p = self._process(req.id, "")
        if p.state != State.PAUSED:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"container {req.id!r} is {p.state.name.lower()}, not paused")
        try:
            self.runc.resume(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        p.state = State.RUNNING
        self.publisher.publish(events.TaskResumed(container_id=self.id))
        return EMPTY

    def checkpoint(self, call: Call) -> bytes:
        raise TtrpcError(Code.UNIMPLEMENTED, "checkpoint is not implemented")

    def kill(self, call: Call) -> bytes:
        req = api.KillRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        if p is self.init:
            if p.exited and not req.all:
                raise TtrpcError(Code.NOT_FOUND, "process already finished")
            try:
                self.runc.kill(self.id, req.signal, req.all)
            except RuncError as e:
                if p.exited or "not running" in str(e) or "stopped" in str(e):
                    raise TtrpcError(Code.NOT_FOUND, "process already finished") from e
                raise self._runtime_error(e) from e
        else:
            if p.exited or p.pid == 0:
                raise TtrpcError(Code.NOT_FOUND, "process already finished")
            try:
                os.kill(p.pid, req.signal)
            except ProcessLookupError as e:
                raise TtrpcError(Code.NOT_FOUND, "process already finished") from e
        return EMPTY

    def exec(self, call: Call) -> bytes:
        req = api.ExecProcessRequest.FromString(call.payload)
        init = self._process(req.id, "")
        if req.exec_id in self.execs:
            raise TtrpcError(Code.ALREADY_EXISTS, f"exec {req.exec_id!r} already exists")
        if init.exited:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"container {req.id!r} is stopped")
        # the spec is an OCI process as JSON: containerd's typeurl packs non-proto types that way
        self.execs[req.exec_id] = Process(req.exec_id, Stdio(req.stdin, req.stdout, req.stderr, req.terminal),
                                          spec=req.spec.value)
        self.publisher.publish(events.TaskExecAdded(container_id=self.id, exec_id=req.exec_id))
        return EMPTY

    def resizepty(self, call: Call) -> bytes:
        req = api.ResizePtyRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        try:
            p.resize(req.width, req.height)
        except OSError as e:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"resize pty: {e}") from e
        return EMPTY

    def closeio(self, call: Call) -> bytes:
        req = api.CloseIORequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        if req.stdin:
            p.close_stdin()
        return EMPTY

    def update(self, call: Call) -> bytes:
        req = api.UpdateTaskRequest.FromString(call.payload)
        self._process(req.id, "")
        try:
            self.runc.update(self.id, req.resources.value)  # LinuxResources as JSON
        except RuncError as e:
            raise self._runtime_error(e) from e
        return EMPTY

    def _wait_response(self, p: Process) -> bytes:
        resp = api.WaitResponse(exit_status=p.exit_status)
        resp.exited_at.FromNanoseconds(p.exited_at_ns)
        return resp.SerializeToString()

    def wait(self, call: Call):
        req = api.WaitRequest.FromString(call.payload)
        p = self._process(req.id, req.exec_id)
        if p.exited:
            return self._wait_response(p)
        p.waiters.append(call)
        return DEFERRED

    def stats(self, call: Call) -> bytes:
        raise TtrpcError(Code.UNIMPLEMENTED, "stats are not implemented")

    def connect(self, call: Call) -> bytes:
        api.ConnectRequest.FromString(call.payload)
        return api.ConnectResponse(shim_pid=os.getpid(), task_pid=self.init.pid if self.init else 0,
                                   version=__version__).SerializeToString()

    def shutdown(self, call: Call) -> bytes:
        req = api.ShutdownRequest.FromString(call.payload)
        if self.init is None or req.now:
            self.shutdown_requested = True
        return EMPTY

