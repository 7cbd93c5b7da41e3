"""A container's limits, security, restart policy and health check, and what follows from them at run time.

HostFlags is what `create` was given (strings, as typed); HostConfig is what they resolve to,
stored with the container; RunState is the part that changes as it runs (restart count, OOM,
stopped by hand). `Policies` is the manager's one entry point: it is told of starts, exits,
stops and removals, and answers with restarts, health probes and the OOM verdict.
"""

import asyncio
import json
import logging
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import Conflict, InvalidArgument
from . import health as healths
from . import resources as res
from . import stats
from .logs import LogConfig, log_opts_map, parse_log_opts
from .restart import RestartPolicy, Restarts, decide, parse_restart
from .shim import Shim, ShimError, delete_dead
from .status import Status

log = logging.getLogger("pyruncd.containers")
# a killed probe's exec ends within this, or is left to be reaped in the background
_KILLED_PROBE_GRACE = 10.0


@dataclass
class HostFlags:
    memory: str = ""
    memory_swap: str = ""
    cpus: str = ""
    cpu_shares: str = ""
    cpuset_cpus: str = ""
    pids_limit: str = ""
    ulimits: list[str] = field(default_factory=list)
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    read_only: bool = False
    security_opt: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    restart: str = ""
    health_cmd: str = ""
    health_interval: str = ""
    health_timeout: str = ""
    health_retries: str = ""
    health_start_period: str = ""
    no_healthcheck: bool = False
    log_opts: list[str] = field(default_factory=list)


@dataclass
class HostConfig:
    resources: res.Resources = field(default_factory=res.Resources)
    security: res.Security = field(default_factory=res.Security)
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    health: healths.Healthcheck | None = None
    log: LogConfig | None = None  # None: created before log options, the daemon's defaults apply

    @classmethod
    def from_dict(cls, d: dict) -> "HostConfig":
        return cls(res.Resources(**d.get("resources", {})), res.Security.from_dict(d.get("security", {})),
                   RestartPolicy(**d.get("restart", {})),
                   healths.Healthcheck(**d["health"]) if d.get("health") else None,
                   LogConfig(**d["log"]) if d.get("log") else None)


@dataclass
class RunState:
    restart_count: int = 0
    manually_stopped: bool = False
    oom_killed: bool = False


def resolve(f: HostFlags, image_config: dict, auto_remove: bool, log_defaults: dict[str, str]) -> HostConfig:
    """Every flag parsed and checked, so a bad one fails `create` before anything exists."""
    return HostConfig(
        res.parse_resources(memory=f.memory, memory_swap=f.memory_swap, cpus=f.cpus, cpu_shares=f.cpu_shares,
                            cpuset_cpus=f.cpuset_cpus, pids_limit=f.pids_limit),
        res.parse_security(cap_add=f.cap_add, cap_drop=f.cap_drop, privileged=f.privileged, read_only=f.read_only,
                           security_opt=f.security_opt, devices=f.devices, ulimits=f.ulimits),
        parse_restart(f.restart, auto_remove),
        healths.resolve(image_config, cmd=f.health_cmd, interval=f.health_interval, timeout=f.health_timeout,
                        retries=f.health_retries, start_period=f.health_start_period, disabled=f.no_healthcheck),
        parse_log_opts(log_opts_map(f.log_opts), log_defaults))


def shim_processes(cids: set[str]) -> dict[str, list[int]]:
    """The pids of shim processes (ours: containerd-shim-pyrunc-v2 ... -id ID) serving one of `cids`."""
    out: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if not any(a.endswith(b"/containerd-shim-pyrunc-v2") for a in argv[:2]) or b"-id" not in argv:
            continue
        i = argv.index(b"-id")
        cid = argv[i + 1].decode(errors="replace") if i + 1 < len(argv) else ""
        if cid in cids:
            out.setdefault(cid, []).append(int(entry))
    return out


def _seconds(rfc3339: str) -> float:
    import datetime

    try:
        return datetime.datetime.fromisoformat(rfc3339[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return 0.0


class Policies:
    def __init__(self, manager):
        self.m = manager
        self.restarts = Restarts(self._restart)
        self.health = healths.Monitors(self._probe, self._health_changed)
        self._ooms: set[str] = set()  # containers the kernel's OOM killer acted in since they started

    # ---- told by the manager

    def started(self, rec) -> None:
        """Any start (by hand, by policy, reconnected after a daemon restart)."""
        self.health.start(rec.id, rec.config.host.health)
        if rec.config.run.oom_killed and rec.status == "running":  # as docker's SetRunning
            rec.config.run.oom_killed = False
            self.m.store.save(rec)

    def user_started(self, rec) -> None:
        """`start`/`run`: as docker, the restart count, manual stop and OOM flag begin again."""
        self.restarts.reset(rec.id)
        self._ooms.discard(rec.id)
        rec.config.run = RunState()

    def oom(self, cid: str) -> None:
        """The shim's TaskOOM (events.py): told at this container's exit, as dockerd tells containerd's. It may
        come before the start is recorded (an OOM at once), so it is not checked against the live ones."""
        self._ooms.add(cid)

    def exiting(self, rec) -> None:
        """The task exited (a TaskOOM of its run came before)."""
        self.health.stop(rec.id)
        rec.config.run.oom_killed = rec.id in self._ooms
        self._ooms.discard(rec.id)

    def exited(self, rec) -> None:
        """The exit is recorded: restart as the policy says (not for --rm containers)."""
        if rec.config.auto_remove:
            return
        run = rec.config.run
        ran_for = max(0.0, _seconds(rec.finished_at) - _seconds(rec.started_at))
        if self.restarts.exited(rec.id, rec.config.host.restart, rec.exit_code, run.restart_count,
                                run.manually_stopped, ran_for):
            run.restart_count += 1
            self.m.store.save(rec)

    async def stopping(self, cid: str):
        """`stop` (and so `restart`): no policy restart after this exit, until a start by hand. Taken under
        the container's lock, so a restart under way ends first (and is then stopped); returns the record."""
        async with self.m._lock(cid):
            rec = self.m.get(cid)
            self.restarts.cancel(cid, cid in self.m._live)
            if not rec.config.run.manually_stopped:
                rec.config.run.manually_stopped = True
                self.m.store.save(rec)
            return rec

    async def removing(self, cid: str, force: bool):
        """`rm`: refused for a restarting container without -f, as docker's; with -f (or stopped) no policy
        brings it back. A running container without -f is the manager's to refuse: nothing changes here.
        Under the container's lock, as `stopping`; returns the record."""
        async with self.m._lock(cid):
            rec = self.m.get(cid)
            running = cid in self.m._live
            if not force and self.restarts.restarting(cid):
                raise Conflict(f"You cannot remove a restarting container {cid}. Stop the container before "
                               "attempting removal or force remove")
            if running and not force:
                return rec
            self.restarts.cancel(cid, running)  # when running, the exit to come is consumed there
            self.health.forget(cid)
            return rec

    def _discard_half_started(self, rec, pids: list[int]) -> None:
        """A start the daemon died in (a policy restart in a crash loop makes that likely) leaves a shim
        the record never heard of, perhaps holding a created task: shut it down through its socket when it
        answers, else kill it; then delete what it left (task, cgroups, rootfs mount), as after its exit."""
        bundle = self.m.dir(rec.id) / "bundle"

        def address() -> str:
            try:
                return (bundle / "address").read_text().strip()
            except OSError:
                return ""

        shim = Shim(rec.id, address())
        if shim.address and shim.alive():
            try:
                shim.kill(9, True)
            except (ShimError, OSError):
                pass  # no task yet
            self.m._discard_shim(shim, bundle)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it left when shut down
        delete_dead(bundle, rec.id)
        stale = Path(address().removeprefix("unix://"))
        if stale.is_socket() and not Shim(rec.id, address()).alive():
            stale.unlink(missing_ok=True)
        log.info("half-started container's shim discarded", extra={"id": rec.id})

    async def booted(self) -> None:
        """After the daemon's restore: start what the policies keep running (docker's daemon restore)."""
        stopped = {rec.id: rec for rec in self.m.store.all() if rec.status in (Status.CREATED, Status.EXITED)}
        for cid, pids in (await asyncio.to_thread(shim_processes, set(stopped))).items():
            await asyncio.to_thread(self._discard_half_started, stopped[cid], pids)
        for rec in self.m.store.all():
            if rec.status != Status.EXITED or self.restarts.restarting(rec.id) or rec.config.auto_remove:
                continue
            run = rec.config.run
            # the same rule as at an exit: a stop by hand holds `unless-stopped` back, not `always`
            if decide(rec.config.host.restart, rec.exit_code, run.restart_count, run.manually_stopped):
                try:
                    await self._restart(rec.id)
                except Exception as e:  # noqa: BLE001 - one container that cannot start stops no other
                    log.warning("restart at boot failed", extra={"id": rec.id, "error": str(e)})

    def close(self) -> None:
        self.restarts.close()
        self.health.close()

    # ---- update and stats

    async def update(self, text: str, *, restart: str = "", **flags: str) -> None:
        """`pyctl update`: resources (through the shim's Update when running) and the restart policy."""
        cid = self.m.store.resolve(text)
        async with self.m._lock(cid):
            rec = self.m.get(cid)
            host = rec.config.host
            resources = res.parse_resources(base=host.resources, **flags)
            policy = parse_restart(restart, rec.config.auto_remove) if restart else host.restart
            live = self.m._live.get(cid)
            if live is not None and any(flags.values()):
                try:
                    await asyncio.to_thread(live.shim.update, json.dumps(resources.to_oci()).encode())
                except ShimError as e:
                    raise InvalidArgument(f"Cannot update container {cid}: {e}") from None
            host.resources, host.restart = resources, policy
            self.m.store.save(rec)
            self.m._event("update", rec)

    async def stats(self, names: list[str]) -> list[tuple[object, stats.Sample]]:
        """One sample of each running container named (every running one when none is)."""
        recs = [self.m.get(n) for n in names] if names else self.m.records(all=False)
        out = []
        for rec in recs:
            live = self.m._live.get(rec.id)
            if live is None or rec.status not in (Status.RUNNING, Status.PAUSED):
                out.append((rec, stats.Sample()))  # as docker: a stopped container shows zeros
                continue
            try:
                data = await asyncio.to_thread(live.shim.stats)
            except (ShimError, OSError):
                out.append((rec, stats.Sample()))
                continue
            blkio = Path("/sys/fs/cgroup/blkio") / self.m.d.config.cgroup_parent.strip("/") / rec.id
            out.append((rec, stats.sample(data, rec.pid, blkio, rec.config.settings.network == "host")))
        return out

    # ---- what they do

    async def _restart(self, cid: str, wanted=lambda: True) -> None:
        await self.m.start_again(cid, wanted)

    def _probe(self, cid: str) -> healths.Probe:
        async def probe(argv: list[str], timeout: float) -> tuple[int, str] | None:
            if self.m.get(cid).status == Status.PAUSED:
                return None
            out: list[bytes] = []
            ids: list[str] = []
            code = -1
            expired = False

            def kill(eid: str) -> None:
                live = self.m._live.get(cid)
                if live is not None:
                    asyncio.ensure_future(asyncio.to_thread(live.shim.kill, 9, False, eid)).add_done_callback(
                        lambda f: f.cancelled() or f.exception())  # it may have ended meanwhile

            def started(_cid: str, eid: str) -> None:
                ids.append(eid)
                if expired:  # the timeout came while the shim was still starting it
                    kill(eid)

            async def run() -> None:
                nonlocal code
                async for stream, data in self.m.exec(cid, argv, [], "", "", on_start=started):
                    if stream:
                        out.append(data)
                    else:
                        code = data

            # never cancel the exec mid-start (the shim could not delete what then runs): on timeout, kill
            # the process, and its exit ends the exec as any other
            task = asyncio.ensure_future(run())
            try:
                done, _ = await asyncio.wait({task}, timeout=timeout)
                if task not in done:
                    expired = True
                    if ids:
                        kill(ids[0])
                    await asyncio.wait({task}, timeout=_KILLED_PROBE_GRACE)
                    raise TimeoutError
                task.result()
            finally:
                task.cancel()
            return code, b"".join(out).decode(errors="replace")

        return probe

    def _health_changed(self, cid: str, status: str) -> None:
        try:
            rec = self.m.get(cid)
        except Exception:  # noqa: BLE001 - removed meanwhile
            return
        self.m._event(f"health_status: {status}", rec)

    # ---- what inspect and ps show

    def decorate(self, doc: dict, rec) -> None:
        """Fill docker inspect's fields for limits, restarts and health into `doc`."""
        h, run = rec.config.host, rec.config.run
        state = doc["State"]
        if self.restarts.restarting(rec.id):
            state.update(Status="restarting", Restarting=True, Running=True)
        state["OOMKilled"] = run.oom_killed
        if h.health is not None:
            health = self.health.state.get(rec.id)
            state["Health"] = (health or healths.Health()).inspect()
            doc["Config"]["Healthcheck"] = h.health.inspect()
        doc["RestartCount"] = run.restart_count
        doc["HostConfig"]["LogConfig"] = {"Type": "json-file", "Config": self.m.log_config(rec).config}
        r, s = h.resources, h.security
        sec = (["no-new-privileges"] if s.no_new_privileges else []) + (
            ["seccomp=unconfined"] if s.seccomp == "unconfined" else ["seccomp=<profile>"] if s.seccomp else [])
        doc["HostConfig"].update({
            "RestartPolicy": {"Name": h.restart.name, "MaximumRetryCount": h.restart.max_retries},
            "Memory": r.memory, "MemorySwap": r.memory_swap or (2 * r.memory if r.memory else 0),
            "NanoCpus": r.nano_cpus, "CpuShares": r.cpu_shares, "CpusetCpus": r.cpuset_cpus,
            "PidsLimit": r.pids_limit or None, "CapAdd": s.cap_add or None, "CapDrop": s.cap_drop or None,
            "Privileged": s.privileged, "ReadonlyRootfs": s.read_only, "SecurityOpt": sec or None,
            "Devices": [{"PathOnHost": d.host, "PathInContainer": d.container, "CgroupPermissions": d.permissions}
                        for d in s.devices],
            "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in s.ulimits] or None,
        })

