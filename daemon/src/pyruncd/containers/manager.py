"""Containers' lifecycle: create, start through a shim, watch for the exit, stop, remove, exec, logs.

Every status change goes through Record.move (status.TRANSITIONS) under the container's lock and
is saved before anyone is told. Waits on a shim block, so each runs in its own thread (the
default executor is small); the result comes back to the event loop.
"""

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from pyrunc_proto.containerd.runtime.task.v2 import shim_pb2 as api

from .. import overlay
from ..clock import rfc3339
from ..errors import Conflict, InvalidArgument, NotFound
from ..fsutil import du, private_dir, write_private
from ..networks.manager import join_netns
from ..threads import in_thread
from ..volumes import mounts as vmounts
from ..volumes.store import remove_dirs, seed
from . import hostconfig, resources
from . import logs as logfiles
from . import shim as shims
from . import spec as specs
from .events import EventSink
from .fifo import FifoReader, Outlet
from .logs import Entry, LogFile, parse_since
from .reconnect import Reconnects
from .status import TRANSITIONS, Status
from .store import Config, Record, Store

log = logging.getLogger("pyruncd.containers")
DEFAULT_STOP_TIMEOUT = 10


def in_own_thread(fn, *args) -> asyncio.Future:
    """Run a call that may block for as long as a container lives, without taking an executor slot."""
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def done(ok: bool, value) -> None:
        if not fut.done():
            fut.set_result(value) if ok else fut.set_exception(value)

    def run() -> None:
        try:
            value, ok = fn(*args), True
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting coroutine
            value, ok = e, False
        try:
            loop.call_soon_threadsafe(done, ok, value)
        except RuntimeError:
            pass  # the loop closed: pyruncd is stopping and will Wait again when it comes back

    threading.Thread(target=run, daemon=True, name=f"wait-{getattr(fn, '__name__', 'call')}").start()
    return fut


@dataclass
class Live:
    """A started container's in-memory side: its shim, its output readers."""
    shim: shims.Shim
    log: LogFile
    readers: list[FifoReader] = field(default_factory=list)
    stdin_fd: int = -1  # our end of the stdin FIFO; closing it and CloseIO end the process's stdin

    def close_output(self, drain: bool = True) -> None:
        """After the exit `drain` what is left in the pipes; at shutdown leave it for the next pyruncd."""
        for r in self.readers:
            r.close(drain)
        self.log.close()
        if self.stdin_fd >= 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@dataclass(frozen=True)
class Event:
    time: str
    action: str
    id: str
    attributes: dict[str, str]


@dataclass
class CreateOptions:
    image: str
    name: str = ""
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    entrypoint_set: bool = False
    env: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    hostname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    network: str = ""
    runtime: str = ""
    auto_remove: bool = False
    network_aliases: list[str] = field(default_factory=list)
    ip: str = ""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    mounts: vmounts.MountFlags = field(default_factory=vmounts.MountFlags)
    host: hostconfig.HostFlags = field(default_factory=hostconfig.HostFlags)


class Manager:
    def __init__(self, daemon):
        self.d = daemon
        self.store = Store(daemon.conn)
        self.root = Path(daemon.config.root) / "containers"
        self.runtime_root = Path(daemon.config.root) / "runtime"
        private_dir(self.root)
        self._live: dict[str, Live] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, list[asyncio.Future]] = {}
        self._attached: dict[str, set[Outlet]] = {}    # attach: raw (stream, bytes) chunks
        self._exec_stdin: dict[tuple[str, str], int] = {}
        self._event_subs: set[asyncio.Queue] = set()
        self._leases: dict[str, object] = {}
        self.policies = hostconfig.Policies(self)
        self.reconnects = Reconnects(self)
        self.events = EventSink(Path(daemon.config.root) / "shim-events.sock", self.policies.oom)

    async def _ready(self) -> None:
        """Operations on containers wait for the first reconnect pass after a restart (at most a few seconds)."""
        await self.reconnects.done.wait()

    # ---- helpers

    def _lock(self, cid: str) -> asyncio.Lock:
        return self._locks.setdefault(cid, asyncio.Lock())

    def dir(self, cid: str) -> Path:
        return self.root / cid

    def log_path(self, cid: str) -> Path:
        return self.dir(cid) / f"{cid}-json.log"

    def log_config(self, rec: Record) -> logfiles.LogConfig:
        """Its own, merged with the daemon's defaults at create; those defaults for a container older than that."""
        return rec.config.host.log or logfiles.parse_log_opts({}, self.d.config.log_opts)

    def get(self, text: str) -> Record:
        cid = self.store.resolve(text)
        for rec in self.store.all():
            if rec.id == cid:
                return rec
        raise NotFound(f"No such container: {text}")

    def records(self, all: bool) -> list[Record]:
        return [r for r in self.store.all() if all or r.status in (Status.RUNNING, Status.PAUSED)
                or self.policies.restarts.restarting(r.id)]

    def _hold_lease(self, rec: Record) -> None:
        cm = self.d.images.leases.hold()
        lease = cm.__enter__()
        for c in rec.config.chain_ids:
            lease.add(c)
        self._leases[rec.id] = cm

    def _release_lease(self, cid: str) -> None:
        cm = self._leases.pop(cid, None)
        if cm is not None:
            cm.__exit__(None, None, None)

    def exit_future(self, cid: str) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(cid, []).append(fut)
        return fut

    def _notify_exit(self, cid: str, code: int) -> None:
        for fut in self._waiters.pop(cid, []):
            if not fut.done():
                fut.set_result(code)
        for q in self._attached.pop(cid, set()):
            q.put_nowait(None)

    # ---- events

    def subscribe(self) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue()
        self._event_subs.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self._event_subs.discard(q)

    def _event(self, action: str, rec: Record, **attrs: str) -> None:
        e = Event(rfc3339(), action, rec.id, {"image": rec.image, "name": rec.name, **attrs})
        for q in self._event_subs:
            q.put_nowait(e)

    def attach_queue(self, cid: str) -> Outlet:
        q = Outlet()
        self._attached.setdefault(cid, set()).add(q)
        return q

    def detach_queue(self, cid: str, q: Outlet) -> None:
        self._attached.get(cid, set()).discard(q)
        q.release()

    def _raw(self, cid: str, live: Live, stream: str, data: bytes) -> None:
        for q in self._attached.get(cid, ()):
            q.push((stream, data), live.readers)

    def _stdin_fd(self, cid: str, exec_id: str) -> int:
        fd = self._exec_stdin.get((cid, exec_id), -1) if exec_id else (
            self._live[cid].stdin_fd if cid in self._live else -1)
        if fd < 0:
            raise Conflict(f"container {cid[:12]}: the process has no stdin (run it with -i)")
        return fd

    async def write_stdin(self, cid: str, data: bytes, exec_id: str = "") -> None:
        await in_thread(_write_all, self._stdin_fd(cid, exec_id), data)

    async def close_stdin(self, cid: str, exec_id: str = "") -> None:
        """Close our end of the stdin FIFO, then CloseIO: the shim holds a writer of its own (as
        containerd's runc shim does), so stdin ends there, after what the FIFO holds is read."""
        if exec_id:
            fd = self._exec_stdin.pop((cid, exec_id), -1)
        else:
            live = self._live.get(cid)
            fd, live.stdin_fd = (live.stdin_fd, -1) if live else (-1, -1)
        if fd < 0:
            return
        os.close(fd)
        if cid in self._live:
            try:
                await in_thread(self._live[cid].shim.close_io, exec_id)
            except (shims.ShimError, OSError):
                pass  # the process is gone: so is its stdin

    async def resize(self, cid: str, width: int, height: int, exec_id: str = "") -> None:
        if cid in self._live:
            try:
                await in_thread(self._live[cid].shim.resize, width, height, exec_id)
            except shims.ShimError:
                pass  # the process has no terminal or is gone: nothing to resize

    # ---- create

    def create(self, o: CreateOptions) -> Record:
        img = self.d.images.lookup(o.image)
        image_config = self.d.images.config(img).doc
        network, net = self.d.networks.validate(o.network, o, image_config)
        runtime = o.runtime or "pyrunc"
        if runtime not in shims.RUNTIMES:
            raise InvalidArgument(f"unknown or invalid runtime name: {runtime}")
        cid = os.urandom(32).hex()
        name = self.store.check_name(o.name) if o.name else self.store.new_name()
        hostname = o.hostname or (os.uname().nodename if network == "host" else cid[:12])
        proc = specs.resolve_process(image_config, cmd=o.cmd, entrypoint=o.entrypoint,
                                     entrypoint_set=o.entrypoint_set, env=o.env, workdir=o.workdir, user=o.user,
                                     tty=o.tty, hostname=hostname)
        labels = dict((image_config.get("config") or {}).get("Labels") or {})
        labels.update(o.labels)
        chain = [s.chain_id for s in self.d.snapshots.chain(img.top_chain_id)]
        host = hostconfig.resolve(o.host, image_config, o.auto_remove, self.d.config.log_opts)
        mounts = vmounts.resolve(o.mounts, (image_config.get("config") or {}).get("Volumes") or {},
                                 lambda other: self.get(other).config.mounts)
        self.d.volumes.place(mounts)
        rec = Record(cid, name, o.image, img.id, rfc3339(), Config(
            proc, specs.Settings(hostname, network, runtime, labels, net), chain, o.auto_remove, o.open_stdin,
            image_config, mounts, host))
        d = private_dir(self.dir(cid))
        for sub in ("upper", "work", "bundle/rootfs"):
            (d / sub).mkdir(parents=True)
        try:
            self.store.insert(rec)
            self.d.volumes.attach(cid, mounts)
            self.d.networks.allocate(rec, d / "etc")
        except BaseException:
            with contextlib.suppress(Exception):
                self.d.networks.release(cid)
            with contextlib.suppress(Exception):
                self.store.delete(cid)
            shutil.rmtree(d, ignore_errors=True)
            raise
        self._hold_lease(rec)
        self._event("create", rec)
        log.info("container created", extra={"id": cid, "container_name": name, "image": o.image})
        return rec

    # ---- start and exit

    async def start(self, text: str) -> Record:
        await self._ready()
        cid = self.store.resolve(text)
        async with self._lock(cid):
            rec = self.get(cid)
            if rec.status == Status.RUNNING:
                return rec
            if rec.status == Status.PAUSED:
                raise Conflict("cannot start a paused container, try unpause instead")
            if Status.RUNNING not in TRANSITIONS[rec.status]:
                raise Conflict(f"container {cid[:12]} is {rec.status}, it cannot start")
            self.policies.user_started(rec)
            await self._start(rec)
            return rec

    async def start_again(self, cid: str, wanted) -> None:
        """A restart the policy asked for (if still `wanted()`): no reset of the restart count."""
        async with self._lock(cid):
            rec = self.get(cid)
            if rec.status == Status.EXITED and wanted():
                await self._start(rec)

    def _lowers(self, rec: Record) -> list[Path]:
        lowers = []
        for c in rec.config.chain_ids:
            snap = self.d.snapshots.get(c)
            if snap is None:
                raise NotFound(f"container {rec.id[:12]}: layer snapshot {c} is gone")
            lowers.append(snap.fs)
        return lowers

    def _write_bundle(self, rec: Record, lowers: list[Path], netns: str = "") -> Path:
        """In a worker thread: no database here."""
        d = self.dir(rec.id)
        bundle = d / "bundle"
        user = specs.resolve_user(rec.config.process.user, lowers, d / "upper")
        etc = specs.etc_files(d / "etc", rec.config.settings.hostname, rec.config.settings.network)
        if not rec.started_at:  # the first start: empty volumes get the image's content, as docker's create
            seed(rec.config.mounts, lowers, d / "upper", d / "work", d / "seed")
        doc = specs.build(rec.config.process, rec.config.settings, user=user, etc=etc,
                          cgroups_path=f"{self.d.config.cgroup_parent}/{rec.id}",
                          volumes=vmounts.oci_mounts(rec.config.mounts))
        if netns:
            join_netns(doc, netns)
        resources.apply(doc, rec.config.host.resources, rec.config.host.security)
        write_private(bundle / "config.json", json.dumps(doc))
        return bundle


    def _open_output(self, rec: Record) -> Live:
        d = self.dir(rec.id)
        logf = LogFile(self.log_path(rec.id), self.log_config(rec))
        live = Live(shims.Shim(rec.id, rec.shim_address), logf)

        def sink(stream: str, data: bytes) -> None:
            logf.write(stream, data)
            self._raw(rec.id, live, stream, data)

        for stream in ("stdout",) if rec.config.process.tty else ("stdout", "stderr"):
            fifo = d / stream
            if not fifo.exists():
                os.mkfifo(fifo, 0o600)
            live.readers.append(FifoReader(fifo, lambda data, s=stream: sink(s, data)))
        if rec.config.open_stdin:
            if not (d / "stdin").exists():
                os.mkfifo(d / "stdin", 0o600)
            live.stdin_fd = os.open(d / "stdin", os.O_RDWR | os.O_CLOEXEC)
        return live

    async def _start(self, rec: Record) -> None:
        lowers = self._lowers(rec)
        d = self.dir(rec.id)
        # the shim starts (~25 ms) while the bundle is written: it reads nothing of it until Create
        shim_start = asyncio.ensure_future(in_thread(shims.start, d / "bundle", rec.id, str(self.events.path)))
        try:
            bundle = await in_thread(self._write_bundle, rec, lowers, self.d.networks.netns_path(rec))
            live = self._open_output(rec)
        except BaseException:
            with contextlib.suppress(Exception):
                await in_thread(self._discard_shim, await shim_start, d / "bundle")
            raise
        shim = None
        try:
            shim = await shim_start
            live.shim = shim
            log.debug("shim started", extra={"id": rec.id, "address": shim.address})
            tty = rec.config.process.tty
            req = api.CreateTaskRequest(id=rec.id, bundle=str(bundle), rootfs=[shims.overlay(lowers, d / "upper", d / "work")],
                                        stdin=str(d / "stdin") if rec.config.open_stdin else "", terminal=tty,
                                        stdout=str(d / "stdout"), stderr="" if tty else str(d / "stderr"),
                                        options=shims.runtime_options(rec.config.settings.runtime, self.runtime_root))
            pid = await in_thread(shim.create, req)
            log.debug("task created", extra={"id": rec.id, "pid": pid})
            await self.d.networks.attach(rec, pid)
            try:
                await in_thread(shim.start)
            except BaseException:
                await self.d.networks.detach(rec.id)
                raise
        except BaseException as e:
            live.close_output()
            if shim is not None:
                await in_thread(self._discard_shim, shim, bundle)
            rec.error = str(e)
            self.store.save(rec)
            raise
        rec.move(Status.RUNNING)
        rec.pid, rec.exit_code, rec.error = pid, 0, ""
        rec.started_at, rec.finished_at, rec.shim_address = rfc3339(), "", shim.address
        self.store.save(rec)
        self._live[rec.id] = live
        self._watch(rec.id, live)
        self.policies.started(rec)
        self._event("start", rec)
        log.info("container started", extra={"id": rec.id, "pid": pid})

    @staticmethod
    def _discard_shim(shim: shims.Shim, bundle: Path) -> None:
        try:
            shim.delete()
        except (shims.ShimError, OSError):
            pass
        shim.shutdown()
        if os.path.ismount(bundle / "rootfs"):  # a shim that died mid-create
            shims.delete_dead(bundle, shim.id)

    def _watch(self, cid: str, live: Live) -> None:
        fut = in_own_thread(live.shim.wait)

        def done(f: asyncio.Future) -> None:
            exc = f.exception()
            if exc is not None:
                log.warning("lost the shim", extra={"id": cid, "error": str(exc)})
            asyncio.ensure_future(self._exited(cid, live, None if exc else f.result()))

        fut.add_done_callback(done)

    async def _exited(self, cid: str, live: Live, exit: shims.Exit | None) -> None:
        async with self._lock(cid):
            if self._live.get(cid) is not live:
                return
            live.close_output()
            bundle = self.dir(cid) / "bundle"
            rec = self.get(cid)
            self.policies.exiting(rec)
            if exit is None:  # the shim is gone: clean up after it as containerd would
                # or it answers without its task (a daemon killed mid-discard): shut it down before
                # `shim delete` unlinks its socket
                await in_thread(live.shim.shutdown)
                resp = await in_thread(shims.delete_dead, bundle, cid)
                exit = shims.Exit(resp.exit_status if resp else 255,
                                  resp.exited_at.seconds if resp and resp.exited_at.seconds else 0)
            else:
                await in_thread(self._discard_shim, live.shim, bundle)
            del self._live[cid]
            await self.d.networks.detach(cid)
            rec.move(Status.EXITED)
            rec.exit_code, rec.pid, rec.shim_address = exit.status, 0, ""
            rec.finished_at = rfc3339(exit.exited_at or None)
            self.store.save(rec)
            self._event("die", rec, exitCode=str(exit.status))
            log.info("container exited", extra={"id": cid, "exit_code": exit.status})
            self.policies.exited(rec)
        if rec.config.auto_remove:  # as docker's run --rm: the exit is told once the container is gone
            try:
                await self.remove(cid, force=True, volumes=True)
            finally:
                self._notify_exit(cid, exit.status)
        else:
            self._notify_exit(cid, exit.status)

    # ---- signals

    def _running(self, rec: Record) -> Live:
        self.reconnects.check(rec.id)
        live = self._live.get(rec.id)
        if live is None or rec.status not in (Status.RUNNING, Status.PAUSED):
            raise Conflict(f"Container {rec.id} is not running")
        return live

    async def kill(self, text: str, signal: str = "") -> None:
        await self._ready()
        rec = self.get(text)
        live = self._running(rec)
        sig = specs.parse_signal(signal or "SIGKILL")
        await in_thread(live.shim.kill, sig, sig == 9)
        self._event("kill", rec, signal=str(sig))

    async def stop(self, text: str, timeout: int | None = None) -> None:
        await self._ready()
        self.reconnects.check(self.store.resolve(text))
        rec = await self.policies.stopping(self.store.resolve(text))
        live = self._live.get(rec.id)
        if live is None:
            return  # docker: stopping a stopped container succeeds
        timeout = DEFAULT_STOP_TIMEOUT if timeout is None else timeout
        exited = self.exit_future(rec.id)
        if rec.status == Status.PAUSED:
            await self.unpause(rec.id)
        sig = specs.parse_signal(rec.config.process.stop_signal)
        try:
            if timeout != 0:
                await in_thread(live.shim.kill, sig, False)
            await asyncio.wait_for(asyncio.shield(exited), timeout if timeout >= 0 else None)
        except (TimeoutError, shims.ShimError):
            try:
                await in_thread(live.shim.kill, 9, True)
            except shims.ShimError:
                pass  # it exited meanwhile
            await asyncio.wait_for(exited, 30)
        self._event("stop", rec)

    async def restart(self, text: str, timeout: int | None = None) -> None:
        await self.stop(text, timeout)
        await self.start(text)

    async def pause(self, text: str) -> None:
        await self._ready()
        cid = self.store.resolve(text)
        async with self._lock(cid):
            rec = self.get(cid)
            live = self._running(rec)
            if rec.status == Status.PAUSED:
                raise Conflict(f"Container {rec.id} is already paused")
            await in_thread(live.shim.pause)
            rec.move(Status.PAUSED)
            self.store.save(rec)
            self._event("pause", rec)

    async def unpause(self, text: str) -> None:
        await self._ready()
        cid = self.store.resolve(text)
        async with self._lock(cid):
            rec = self.get(cid)
            live = self._running(rec)
            if rec.status != Status.PAUSED:
                raise Conflict(f"Container {rec.id} is not paused")
            await in_thread(live.shim.resume)
            rec.move(Status.RUNNING)
            self.store.save(rec)
            self._event("unpause", rec)

    async def wait(self, text: str) -> int:
        rec = self.get(text)
        if rec.status in (Status.EXITED, Status.REMOVING):
            return rec.exit_code
        return await self.exit_future(rec.id)

    # ---- remove

    async def remove(self, text: str, force: bool = False, volumes: bool = False) -> None:
        await self._ready()
        try:
            cid = self.store.resolve(text)
        except NotFound:
            if force and text in self._locks:  # removed by --rm meanwhile
                return
            raise
        self.reconnects.check(cid)
        rec = await self.policies.removing(cid, force)
        if rec.status in (Status.RUNNING, Status.PAUSED):
            if not force:
                raise Conflict(f"You cannot remove a {rec.status} container {cid}. Stop the container before "
                               "attempting removal or force remove")
            exited = self.exit_future(cid)
            try:
                await in_thread(self._live[cid].shim.kill, 9, True)
            except (shims.ShimError, KeyError):
                pass
            await asyncio.wait_for(exited, 30)
        async with self._lock(cid):
            try:
                rec = self.get(cid)
            except NotFound:
                return  # --rm got there first
            if rec.status == Status.REMOVING and cid in self._live:
                return
            if rec.status != Status.REMOVING:
                rec.move(Status.REMOVING)
                self.store.save(rec)
            await in_thread(self._remove_files, cid)
            self.store.delete(cid)
            self.d.networks.release(cid)
            self._release_lease(cid)
            if volumes:  # rm -v: its anonymous volumes, unless another container still uses them
                await in_thread(remove_dirs, self.d.volumes.release_anonymous(rec.config.mounts))
        self._notify_exit(cid, rec.exit_code)
        self._event("destroy", rec)
        log.info("container removed", extra={"id": cid})

    async def prune(self) -> tuple[list[str], int]:
        """Remove every stopped container; returns their ids and the bytes their writable layers held."""
        gone, freed = [], 0
        for rec in self.store.all():
            if rec.status in (Status.CREATED, Status.EXITED):
                freed += await in_thread(du, self.dir(rec.id) / "upper")
                await self.remove(rec.id)
                gone.append(rec.id)
        return gone, freed

    def rename(self, text: str, new_name: str) -> None:
        rec = self.get(text)
        old, rec.name = rec.name, self.store.check_name(new_name)
        if rec.name == old:
            raise InvalidArgument("Renaming a container with the same name as its current name")
        self.store.rename(rec.id, rec.name)
        self._event("rename", rec, oldName="/" + old)

    async def top(self, text: str, ps_args: list[str]) -> tuple[list[str], list[list[str]]]:
        """`ps` on the host, rows kept for the container's processes, as docker top does."""
        await self._ready()
        rec = self.get(text)
        live = self._running(rec)
        pids = set(await in_thread(live.shim.pids))
        r = await asyncio.to_thread(subprocess.run, ["ps", *(ps_args or ["-ef"])], capture_output=True, text=True)
        if r.returncode != 0:
            raise InvalidArgument(f"ps {' '.join(ps_args)}: {r.stderr.strip()}")
        lines = r.stdout.splitlines()
        titles = lines[0].split()
        if "PID" not in titles:
            raise InvalidArgument("couldn't find PID field in ps output")
        col = titles.index("PID")
        rows = []
        for line in lines[1:]:
            fields = line.split(None, len(titles) - 1)
            if len(fields) > col and fields[col].isdigit() and int(fields[col]) in pids:
                rows.append(fields)
        return titles, rows

    def _remove_files(self, cid: str) -> None:
        rootfs = self.dir(cid) / "bundle" / "rootfs"
        if os.path.ismount(rootfs):
            subprocess.run(["umount", "-l", str(rootfs)], check=False)
        shutil.rmtree(self.dir(cid), ignore_errors=True)

    # ---- cp

    @contextlib.asynccontextmanager
    async def _rootfs_view(self, text: str):
        """The container's files: its mounted rootfs while it runs, else its overlay mounted for the while."""
        rec = self.get(text)
        if rec.id in self._live:
            yield self.dir(rec.id) / "bundle" / "rootfs"
            return
        async with self._lock(rec.id):
            lowers = self._lowers(rec)
            d = self.dir(rec.id)
            view = overlay.mounted(lowers, d / "upper", d / "work", d / "cp", f"the rootfs of {rec.id[:12]}")
            target = await asyncio.to_thread(view.__enter__)
            try:
                yield target
            finally:
                await asyncio.to_thread(view.__exit__, None, None, None)

    @staticmethod
    def _helper(mode: str, rootfs: Path, path: str):
        return asyncio.create_subprocess_exec(
            sys.executable, "-m", "pyruncd.containers.archive", mode, str(rootfs), path,
            stdin=asyncio.subprocess.PIPE if mode == "put" else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def copy_from(self, text: str, path: str) -> AsyncIterator[bytes]:
        if not path.startswith("/"):
            path = "/" + path
        async with self._rootfs_view(text) as rootfs:
            proc = await self._helper("get", rootfs, path)
            try:
                while chunk := await proc.stdout.read(1 << 20):
                    yield chunk
                err = await proc.stderr.read()
                if await proc.wait() != 0:
                    raise NotFound(err.decode(errors="replace").strip())
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    async def copy_to(self, text: str, path: str, chunks: AsyncIterator[bytes]) -> None:
        if not path.startswith("/"):
            path = "/" + path
        async with self._rootfs_view(text) as rootfs:
            proc = await self._helper("put", rootfs, path)
            try:
                async for data in chunks:
                    proc.stdin.write(data)
                    await proc.stdin.drain()
                proc.stdin.close()
                err = await proc.stderr.read()
                if await proc.wait() != 0:
                    raise InvalidArgument(err.decode(errors="replace").strip())
            finally:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

    # ---- restart safety

    def hold_leases(self) -> None:
        """Before anything collects garbage at start: every container's image stays."""
        for rec in self.store.all():
            if rec.id not in self._leases:
                self._hold_lease(rec)

    async def restore(self) -> None:
        """After a restart: leases for every container, reconnect to live shims, record exits we missed.
        Runs while the API already answers (reconnect.py)."""
        self.hold_leases()
        recs = self.store.all()
        await self.reconnects.first_pass([r for r in recs if r.status in (Status.RUNNING, Status.PAUSED)])
        for rec in recs:
            if rec.status == Status.REMOVING:
                await self.remove(rec.id, force=True, volumes=rec.config.auto_remove)
        await self.policies.booted()

    def reconnected(self, rec: Record, shim: shims.Shim) -> None:
        live = self._open_output(rec)
        live.shim = shim
        self._live[rec.id] = live
        self._watch(rec.id, live)  # Wait answers at once if it exited while we were down
        self.policies.started(rec)
        log.info("container reconnected", extra={"id": rec.id})

    def close(self) -> None:
        self.events.close()
        self.reconnects.close()
        self.policies.close()
        for live in self._live.values():
            live.close_output(drain=False)

    # ---- logs and exec

    async def logs(self, text: str, follow: bool, tail: int, since: str) -> AsyncIterator[Entry]:
        await self._ready()
        rec = self.get(text)
        after = parse_since(since)
        live = self._live.get(rec.id) if follow else None
        async for e in logfiles.read(self.log_path(rec.id), self.log_config(rec).max_file,
                                     live.log if live is not None else None, tail=tail, after=after):
            yield e

    async def exec(self, text: str, cmd: list[str], env: list[str], workdir: str, user: str, *, tty: bool = False,
                   interactive: bool = False, on_start=None):
        """Yields (stream, data) chunks, then ("", exit code). `on_start(container id, exec id)` is called
        once the process runs: from then on write_stdin/resize/close_stdin reach it."""
        await self._ready()
        rec = self.get(text)
        live = self._running(rec)
        if rec.status == Status.PAUSED:
            raise Conflict(f"Container {rec.id} is paused, unpause the container before exec")
        if not cmd:
            raise InvalidArgument("exec: no command given")
        d = self.dir(rec.id)
        process = json.loads((d / "bundle" / "config.json").read_text())["process"]
        process.update(args=list(cmd), terminal=tty, env=specs.merge_env(process["env"], env + (["TERM=xterm"] if tty else [])))
        if workdir:
            process["cwd"] = workdir
        if user:
            lowers = self._lowers(rec)
            process["user"] = await in_thread(specs.resolve_user, user, lowers, d / "upper")
        eid = os.urandom(8).hex()
        q = Outlet()
        readers, fifos = [], []
        started = False
        wait = None
        try:
            paths = {}
            for stream in ("stdout",) if tty else ("stdout", "stderr"):
                fifo = paths[stream] = d / f"exec-{eid}-{stream}"
                os.mkfifo(fifo, 0o600)
                fifos.append(fifo)
                readers.append(FifoReader(fifo, lambda data, s=stream: q.push((s, data), readers)))
            if interactive:
                fifo = paths["stdin"] = d / f"exec-{eid}-stdin"
                os.mkfifo(fifo, 0o600)
                fifos.append(fifo)
                self._exec_stdin[(rec.id, eid)] = os.open(fifo, os.O_RDWR | os.O_CLOEXEC)
            await in_thread(live.shim.exec, eid, json.dumps(process).encode(), str(paths["stdout"]),
                            str(paths.get("stderr", "")), str(paths.get("stdin", "")), tty)
            starting = asyncio.ensure_future(in_thread(live.shim.start, eid))
            try:
                await asyncio.shield(starting)
            except asyncio.CancelledError:
                # the caller left while the shim was starting it: the process may run, so it is reaped
                # once it ends (as for a client that leaves later), never deleted while it runs
                asyncio.ensure_future(self._reap_cut_start(live, eid, starting))
                raise
            except BaseException:
                await in_thread(live.shim.delete, eid)
                raise
            started = True
            wait = in_own_thread(live.shim.wait, eid)
            if on_start is not None:
                on_start(rec.id, eid)
            while True:
                getter = asyncio.ensure_future(q.get())
                await asyncio.wait({getter, wait}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                yield getter.result()
            q.release()
            for r in readers:
                r.drain()
            while not q.empty():
                yield q.get_nowait()
            code = (await wait).status
            yield "", code
        finally:
            if started and not wait.done():
                # the client left (detach keys, or it went away): as docker, the process runs on
                for r in readers:
                    r.sink = lambda data: None
                q.release()
                asyncio.ensure_future(self._reap_exec(live, rec.id, eid, wait, readers, fifos))
            else:
                await self._reap_exec(live, rec.id, eid, wait, readers, fifos)

    async def _reap_cut_start(self, live: Live, eid: str, starting: asyncio.Future) -> None:
        try:
            await starting
        except Exception:  # noqa: BLE001 - it never ran
            with contextlib.suppress(shims.ShimError, OSError):
                await in_thread(live.shim.delete, eid)
            return
        await self._reap_exec(live, "", eid, in_own_thread(live.shim.wait, eid), [], [])

    async def _reap_exec(self, live: Live, cid: str, eid: str, wait, readers: list, fifos: list) -> None:
        """After an exec's exit (awaited here if need be): close its FIFOs, delete it from the shim."""
        if wait is not None:
            await asyncio.gather(wait, return_exceptions=True)
        for r in readers:
            r.close()
        fd = self._exec_stdin.pop((cid, eid), -1)
        if fd >= 0:
            os.close(fd)
        if wait is not None:
            try:
                await in_thread(live.shim.delete, eid)
            except (shims.ShimError, OSError):
                pass
        for f in fifos:
            f.unlink(missing_ok=True)
