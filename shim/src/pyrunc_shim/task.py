"""containerd.task.v2.Task: thin RPC adapters over the container's processes and the runtime CLI."""

import os
import sys

from pyrunc_proto import wire
from pyrunc_ttrpc.server import DEFERRED, Call
from pyrunc_ttrpc.status import Code, TtrpcError

from . import __version__
from .events import Publisher
from .mounts import finish_unmount, mount_rootfs, poststop_hooks, start_unmount, unmount_rootfs
from .options import parse_options
from .process import Console, Process, State, Stdio
from .runc import DEFAULT_BINARY, RUNTIME_FILE, Runc, RuncError, default_root, resolve_binary

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Callable

    from pyrunc_proto.messages import containerd_v1_types_ProcessInfo_Fields
    from pyrunc_ttrpc.server import Handler

    from .oom import OOMWatch, OOMWatchV2
    from .options import RuntimeOptions
    from .process import StdioFds

SERVICE = "containerd.task.v2.Task"
EMPTY = b""  # google.protobuf.Empty


def make_runc(bundle: str, namespace: str, options: "RuntimeOptions") -> Runc:
    binary = resolve_binary(options.get("binary_name") or DEFAULT_BINARY, sys.argv[0])
    root = default_root(binary, options.get("root", ""), namespace)
    return Runc(binary=binary, root=root, log=os.path.join(bundle, "log.json"))


class TaskService:
    def __init__(self, container_id: str, namespace: str, publisher: Publisher,
                 start_options: bytes = b"", config_cache: "dict[str, RuntimeOptions] | None" = None) -> None:
        self.id = container_id
        self.namespace = namespace
        self.publisher = publisher
        self.start_options = start_options
        self.config_cache = config_cache or {}
        self.bundle = ""
        self.runc: Runc | None = None
        self.init: Process | None = None
        self.execs: dict[str, Process] = {}
        self.rootfs_mounted = False
        self.shutdown_requested = False
        self.oom: OOMWatch | OOMWatchV2 | None = None
        self.cgroups: dict[str, str] = {}  # the init's cgroup directories, recorded at Create, for Stats
        self.memory_cgroup: tuple[int, str] = (0, "")  # the init's, for its OOM watch: oom.memory_cgroup()
        self._later: list[Callable[[], None]] = []  # what handlers left for after their answers
        # set by the server loop: watch a descriptor / stop watching it
        self.add_reader: Callable[[int, Callable[[], None]], None] = lambda fd, callback: None
        self.remove_reader: Callable[[int], None] = lambda fd: None

    def handlers(self) -> "dict[tuple[str, str], Handler]":
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

    def _runtime(self) -> Runc:
        """The runtime CLI, which Create sets before the init process: every caller has found a process."""
        assert self.runc is not None
        return self.runc

    @staticmethod
    def _runtime_error(e: RuncError) -> TtrpcError:
        return TtrpcError(Code.UNKNOWN, str(e))

    # ----- process exits (from the reaper)

    def on_exit(self, pid: int, status: int) -> None:
        procs = ([self.init] if self.init else []) + list(self.execs.values())
        for p in procs:
            if p.pid == pid and not p.exited:
                if p is self.init:
                    self._on_oom()  # a kill not yet reported: its TaskOOM goes before the exit and Wait
                self._stopped(p, status)
                self.publisher.queue(wire.pack(
                    "containerd.events.TaskExit", container_id=self.id, id=p.exec_id or self.id, pid=p.pid,
                    exit_status=p.exit_status, exited_at=wire.timestamp(p.exited_at_ns)))

    def _stopped(self, p: Process, status: int) -> None:
        p.set_exited(status)
        waiters, p.waiters = p.waiters, []
        for call in waiters:
            call.reply(self._wait_response(p))

    def answered(self) -> None:
        """Run by the loop after each event it handled, once the answers are sent: what the handlers
        left for then (reads of the init's cgroups), then their events. It all comes before the next
        request: containerd's next call (Start after Create) finds it done."""
        later, self._later = self._later, []
        for work in later:
            try:
                work()
            except Exception:  # no caller to tell, and a bug must not kill the shim that owns the container
                pass
        self.publisher.flush()

    def _watch_oom(self) -> None:
        from .oom import OOMWatch

        self.oom = OOMWatch.for_cgroup(*self.memory_cgroup)
        if self.oom is not None:
            self.add_reader(self.oom.fd, self._on_oom)

    def _record_cgroups(self, pid: int) -> None:
        from .oom import memory_cgroup
        from .stats import cgroup_paths

        try:
            self.cgroups = cgroup_paths(pid)
        except OSError:  # it already exited and was reaped
            self.cgroups = {}
        self.memory_cgroup = memory_cgroup(pid)

    def _on_oom(self) -> None:
        if self.oom is None:
            return
        oom, watching = self.oom.read()
        if oom:
            self.publisher.queue(wire.pack("containerd.events.TaskOOM", container_id=self.id))
        if not watching:
            self.remove_reader(self.oom.fd)
            self.oom.close()
            self.oom = None

    # ----- RPCs

    def create(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.CreateTaskRequest", call.payload)
        if self.init is not None:
            raise TtrpcError(Code.ALREADY_EXISTS, f"container {req.id!r} already exists")
        if req.checkpoint:
            raise TtrpcError(Code.UNIMPLEMENTED, "restoring from a checkpoint is not implemented")
        options = parse_options(req.options or self.start_options, self.config_cache)
        self.id, self.bundle = req.id, req.bundle
        try:
            runc = self.runc = make_runc(req.bundle, self.namespace, options)
        except RuncError as e:
            raise TtrpcError(Code.NOT_FOUND, str(e)) from e
        with open(os.path.join(req.bundle, RUNTIME_FILE), "w") as f:
            f.write(f"{runc.binary}\n{runc.root}\n")
        rootfs = os.path.join(req.bundle, "rootfs")
        if req.rootfs:
            os.makedirs(rootfs, exist_ok=True)
            mount_rootfs(req.rootfs, rootfs)
            self.rootfs_mounted = True
        p = Process("", Stdio(req.stdin, req.stdout, req.stderr, req.terminal))
        try:
            self._run_process(p, lambda stdio, sock, pid_file: runc.create(
                req.id, req.bundle, pid_file, sock, options.get("no_pivot_root", False),
                options.get("no_new_keyring", False), stdio), "init.pid")
        except BaseException:
            if self.rootfs_mounted:
                unmount_rootfs(rootfs)
                self.rootfs_mounted = False
            raise
        self.init = p
        # while the init waits for Start: a task that exits at once is a zombie by the end of Start,
        # and a zombie's /proc/<pid>/cgroup names the root cgroups (v1), whose counters Stats would
        # report and whose OOMs the watch would take for the task's (runc's shim too watches the
        # cgroup it found at Create)
        pid = p.pid
        self._later.append(lambda: self._record_cgroups(pid))
        self.publisher.queue(wire.pack(
            "containerd.events.TaskCreate", container_id=req.id, bundle=req.bundle, rootfs=req.rootfs,
            io={"stdin": req.stdin, "stdout": req.stdout, "stderr": req.stderr, "terminal": req.terminal},
            checkpoint=req.checkpoint, pid=p.pid))
        return wire.encode("containerd.task.v2.CreateTaskResponse", pid=p.pid)

    def _run_process(self, p: Process, run: "Callable[[StdioFds, str, str], None]", pid_name: str) -> None:
        """Run `runc create` or `runc exec` with the process's stdio or console; record its pid."""
        console = Console() if p.stdio.terminal else None
        pid_file = os.path.join(self.bundle, pid_name)
        try:
            stdio = p.open_stdio(p.exec_id or self.id, self.namespace)
            run(stdio, console.path if console else "", pid_file)
            if console:
                p.attach_console(console.receive_master())
            with open(pid_file) as f:
                p.pid = int(f.read().strip())
        except RuncError as e:
            p.release_stdio()
            raise self._runtime_error(e) from e
        except OSError as e:  # the stdio paths, a logging binary or the console socket
            p.release_stdio()
            raise TtrpcError(Code.INVALID_ARGUMENT, f"stdio of process {p.exec_id or self.id!r}: {e}") from e
        finally:
            p.close_child_stdio()
            if console:
                console.close()
            if not p.pid:
                p.drop_output()  # a logger that will get no output

    def start(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.StartRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        if p.state != State.CREATED:
            raise TtrpcError(Code.UNKNOWN, f"cannot start a {p.state.name.lower()} process")
        if p is self.init:
            try:
                self._runtime().start(self.id)
            except RuncError as e:
                raise self._runtime_error(e) from e
            p.state = State.RUNNING
            self._later.append(self._watch_oom)
            self.publisher.queue(wire.pack("containerd.events.TaskStart", container_id=self.id, pid=p.pid))
        else:
            init = self._process(self.id, "")
            if init.state != State.RUNNING:
                raise TtrpcError(Code.UNKNOWN, f"cannot exec in a {init.state.name.lower()} state")
            spec_file = os.path.join(self.bundle, f"exec-{req.exec_id}.json")
            with open(spec_file, "wb") as f:
                f.write(p.spec)
            try:
                self._run_process(p, lambda stdio, sock, pid_file: self._runtime().exec(
                    self.id, spec_file, pid_file, sock, stdio), f"exec-{req.exec_id}.pid")
            except TtrpcError as e:
                # it never ran: stopped with the runtime's exit status, so Wait answers and Delete
                # works (a client's Wait would hang, and containerd's cleanup with it, for a minute)
                self._stopped(p, e.__cause__.exit_code if isinstance(e.__cause__, RuncError) else 255)
                raise
            finally:
                os.unlink(spec_file)
            p.state = State.RUNNING
            self.publisher.queue(wire.pack("containerd.events.TaskExecStarted", container_id=self.id,
                                           exec_id=req.exec_id, pid=p.pid))
        return wire.encode("containerd.task.v2.StartResponse", pid=p.pid)

    def delete(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.DeleteRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        if p.state in (State.RUNNING, State.PAUSED):
            raise TtrpcError(Code.UNKNOWN, f"cannot delete a {p.state.name.lower()} process")
        exited_at = wire.timestamp(p.exited_at_ns) if p.exited else None
        resp = wire.encode("containerd.task.v2.DeleteResponse", pid=p.pid, exit_status=p.exit_status, exited_at=exited_at)
        p.drop_output()
        if p is not self.init:
            del self.execs[req.exec_id]
            return resp
        rootfs = os.path.join(self.bundle, "rootfs")
        # a stopped task's rootfs is unmounted while the runtime deletes the container (~2 ms of
        # umount(8) off the answer; runc's shim unmounts it whatever the runtime's delete says),
        # unless poststop hooks, which that delete runs, may look into it
        beside = self.rootfs_mounted and p.exited and not poststop_hooks(self.bundle)
        unmounting = start_unmount(rootfs) if beside else None
        try:
            self._runtime().delete(self.id, force=p.state == State.CREATED)
        except RuncError as e:
            if "does not exist" not in str(e) and "not found" not in str(e):
                raise self._runtime_error(e) from e
        finally:
            if beside:
                finish_unmount(unmounting, rootfs)
                self.rootfs_mounted = False
        if self.rootfs_mounted:
            unmount_rootfs(rootfs)
            self.rootfs_mounted = False
        os.unlink(os.path.join(self.bundle, RUNTIME_FILE))  # tells `delete` there is nothing left to do
        self.publisher.queue(wire.pack("containerd.events.TaskDelete", container_id=self.id, pid=p.pid,
                                       exit_status=p.exit_status, exited_at=exited_at, id=self.id))
        for exec_process in self.execs.values():
            exec_process.drop_output()
        self.init = None
        self.cgroups = {}
        self.memory_cgroup = (0, "")
        self.execs.clear()
        return resp

    def state(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.StateRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        return wire.encode("containerd.task.v2.StateResponse", id=p.exec_id or self.id, bundle=self.bundle, pid=p.pid,
                           status=p.state.value, stdin=p.stdio.stdin, stdout=p.stdio.stdout,
                           stderr=p.stdio.stderr, terminal=p.stdio.terminal, exit_status=p.exit_status,
                           exited_at=wire.timestamp(p.exited_at_ns) if p.exited else None,
                           exec_id=p.exec_id)

    def pids(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.PidsRequest", call.payload)
        self._process(req.id, "")
        try:
            pids = self._runtime().ps(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        by_pid = {p.pid: p.exec_id for p in self.execs.values()}
        processes = []
        for pid in pids:
            info: containerd_v1_types_ProcessInfo_Fields = {"pid": pid}
            if pid in by_pid:  # exec processes carry their exec id, as containerd's runc shim does
                info["info"] = wire.pack("containerd.runc.v1.ProcessDetails", exec_id=by_pid[pid])
            processes.append(info)
        return wire.encode("containerd.task.v2.PidsResponse", processes=processes)

    def pause(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.PauseRequest", call.payload)
        p = self._process(req.id, "")
        if p.state != State.RUNNING:
            raise TtrpcError(Code.UNKNOWN, f"cannot pause a {p.state.name.lower()} container")
        try:
            self._runtime().pause(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        p.state = State.PAUSED
        self.publisher.queue(wire.pack("containerd.events.TaskPaused", container_id=self.id))
        return EMPTY

    def resume(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.ResumeRequest", call.payload)
        p = self._process(req.id, "")
        if p.state != State.PAUSED:
            raise TtrpcError(Code.UNKNOWN, f"cannot resume a {p.state.name.lower()} container")
        try:
            self._runtime().resume(self.id)
        except RuncError as e:
            raise self._runtime_error(e) from e
        p.state = State.RUNNING
        self.publisher.queue(wire.pack("containerd.events.TaskResumed", container_id=self.id))
        return EMPTY

    def checkpoint(self, call: Call) -> bytes:
        raise TtrpcError(Code.UNIMPLEMENTED, "checkpoint is not implemented")

    def kill(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.KillRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        if p is self.init:
            if p.exited and not req.all:
                raise TtrpcError(Code.NOT_FOUND, "process already finished")
            try:
                self._runtime().kill(self.id, req.signal, req.all)
            except RuncError as e:
                if p.exited or "not running" in str(e) or "stopped" in str(e):
                    raise TtrpcError(Code.NOT_FOUND, "process already finished") from e
                raise self._runtime_error(e) from e
        else:
            if p.pid == 0:
                raise TtrpcError(Code.FAILED_PRECONDITION, "process not created")
            if p.exited:
                raise TtrpcError(Code.NOT_FOUND, "process already finished")
            try:
                os.kill(p.pid, req.signal)
            except ProcessLookupError as e:
                raise TtrpcError(Code.NOT_FOUND, "process already finished") from e
        return EMPTY

    def exec(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.ExecProcessRequest", call.payload)
        init = self._process(req.id, "")
        if req.exec_id in self.execs:
            raise TtrpcError(Code.ALREADY_EXISTS, f"exec {req.exec_id!r} already exists")
        if init.state in (State.STOPPED, State.PAUSED):  # refused before /tasks/exec-added, as runc's shim does
            raise TtrpcError(Code.UNKNOWN, f"cannot exec in a {init.state.name.lower()} state")
        # the spec is an OCI process as JSON: containerd's typeurl packs non-proto types that way
        self.execs[req.exec_id] = Process(req.exec_id, Stdio(req.stdin, req.stdout, req.stderr, req.terminal),
                                          spec=req.spec.value if req.spec else b"")
        self.publisher.queue(wire.pack("containerd.events.TaskExecAdded", container_id=self.id,
                                       exec_id=req.exec_id))
        return EMPTY

    def resizepty(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.ResizePtyRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        try:
            p.resize(req.width, req.height)
        except OSError as e:
            raise TtrpcError(Code.FAILED_PRECONDITION, f"resize pty: {e}") from e
        return EMPTY

    def closeio(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.CloseIORequest", call.payload)
        p = self._process(req.id, req.exec_id)
        if req.stdin:
            p.close_stdin()
        return EMPTY

    def update(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.UpdateTaskRequest", call.payload)
        self._process(req.id, "")
        try:
            self._runtime().update(self.id, req.resources.value if req.resources else b"{}")  # LinuxResources JSON
        except RuncError as e:
            raise self._runtime_error(e) from e
        return EMPTY

    @staticmethod
    def _wait_response(p: Process) -> bytes:
        return wire.encode("containerd.task.v2.WaitResponse", exit_status=p.exit_status,
                           exited_at=wire.timestamp(p.exited_at_ns))

    def wait(self, call: Call) -> object:  # the response, or DEFERRED
        req = wire.decode("containerd.task.v2.WaitRequest", call.payload)
        p = self._process(req.id, req.exec_id)
        if p.exited:
            return self._wait_response(p)
        p.waiters.append(call)
        return DEFERRED

    def stats(self, call: Call) -> bytes:
        from .stats import metrics

        req = wire.decode("containerd.task.v2.StatsRequest", call.payload)
        p = self._process(req.id, "")
        if not self.cgroups and not p.exited:
            self._record_cgroups(p.pid)  # Create could not read them
        if not self.cgroups:
            raise TtrpcError(Code.NOT_FOUND, f"container {req.id!r}: no cgroup to read")
        data = metrics(self.cgroups)
        return wire.encode("containerd.task.v2.StatsResponse", stats=wire.pack("io.containerd.cgroups.v1.Metrics", data))

    def connect(self, call: Call) -> bytes:
        return wire.encode("containerd.task.v2.ConnectResponse", shim_pid=os.getpid(),
                           task_pid=self.init.pid if self.init else 0, version=__version__)

    def shutdown(self, call: Call) -> bytes:
        req = wire.decode("containerd.task.v2.ShutdownRequest", call.payload)
        if self.init is None or req.now:
            self.shutdown_requested = True
        return EMPTY
