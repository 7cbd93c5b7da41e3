"""`ps` and `inspect`: which containers, and each as `docker inspect` shows it (the fields we have)."""

from collections.abc import Callable
from typing import Any

from ...volumes.mounts import inspect_mounts
from ..context import Context
from ..health import Health
from ..types import LIVE, Record, Status

HealthOf = Callable[[str], Health | None]


def records(ctx: Context, all: bool) -> list[Record]:
    """Newest first: running, paused and restarting ones, or `all`."""
    if all:
        return ctx.store.find()
    return [r for r in ctx.store.find() if r.live or ctx.restarting(r.id)]


def inspect_doc(ctx: Context, rec: Record, health_of: HealthOf) -> dict[str, Any]:
    p, s = rec.config.process, rec.config.settings
    ic = rec.config.image_config.get("config") or {}
    network_settings, host_network = ctx.networks.inspect_parts(rec)
    doc: dict[str, Any] = {
        "Id": rec.id,
        "Created": rec.created,
        "Path": p.args[0],
        "Args": p.args[1:],
        "State": {
            "Status": str(rec.status), "Running": rec.status in LIVE,
            "Paused": rec.status == Status.PAUSED, "Restarting": False, "OOMKilled": False,
            "Dead": False, "Pid": rec.pid, "ExitCode": rec.exit_code, "Error": rec.error,
            "StartedAt": rec.started_at or "0001-01-01T00:00:00Z",
            "FinishedAt": rec.finished_at or "0001-01-01T00:00:00Z",
        },
        "Image": rec.image_id,
        "Name": "/" + rec.name,
        "RestartCount": 0,
        "Driver": "overlayfs",
        "Mounts": inspect_mounts(rec.config.mounts),
        "HostConfig": {"NetworkMode": s.network, "AutoRemove": rec.config.auto_remove, "Runtime": s.runtime,
                       **({"Sysctls": s.sysctls} if s.sysctls else {}),
                       **({"GroupAdd": p.group_add} if p.group_add else {}), **host_network},
        "Config": {
            "Hostname": s.hostname, "User": p.user, "Tty": p.tty, "OpenStdin": rec.config.open_stdin,
            "Env": p.env, "Cmd": p.args, "Image": rec.image, "WorkingDir": p.cwd,
            "Entrypoint": ic.get("Entrypoint"), "Labels": s.labels, "StopSignal": p.stop_signal,
            "ExposedPorts": ic.get("ExposedPorts"),
            **({"StopTimeout": p.stop_timeout} if p.stop_timeout is not None else {}),
        },
        "NetworkSettings": network_settings,
    }
    _host_parts(ctx, doc, rec, health_of)
    return doc


def _host_parts(ctx: Context, doc: dict[str, Any], rec: Record, health_of: HealthOf) -> None:
    """Docker inspect's fields for limits, restarts and health."""
    h, run = rec.config.host, rec.config.run
    state = doc["State"]
    if ctx.restarting(rec.id):
        state.update(Status="restarting", Restarting=True, Running=True)
    state["OOMKilled"] = run.oom_killed
    if h.health is not None:
        state["Health"] = (health_of(rec.id) or Health()).inspect()
        doc["Config"]["Healthcheck"] = h.health.inspect()
    doc["RestartCount"] = run.restart_count
    doc["HostConfig"]["LogConfig"] = {"Type": "json-file", "Config": ctx.log_config(rec).config}
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
