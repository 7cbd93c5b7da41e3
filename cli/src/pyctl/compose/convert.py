"""A service's container as the API's ContainerConfig, plus the networks to connect before its start
(the API's create takes one network; the others are connected to the created container)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from . import labels
from .errors import ComposeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..api.types import ContainerConfig
    from .model import Project, Service


@dataclass(kw_only=True)
class Connect:
    network: str
    aliases: list[str]
    ip: str


def container_name(project: Project, service: Service, number: int) -> str:
    return service.container_name or f"{project.name}-{service.name}-{number}"


def image_name(project: Project, service: Service) -> str:
    """The image a service runs; a build-only service's is docker compose's PROJECT-SERVICE."""
    return service.image or f"{project.name}-{service.name}"


def _publish(port: dict[str, Any]) -> str:
    text = str(port["target"])
    if port.get("published"):
        text = f"{port['published']}:{text}"
        if port.get("host_ip"):
            text = f"{port['host_ip']}:{text}"
    elif port.get("host_ip"):
        text = f"{port['host_ip']}::{text}"
    return f"{text}/{port.get('protocol', 'tcp')}"


def _mounts(project: Project, cfg: dict[str, Any]) -> tuple[list[str], list[str]]:
    """-v values and --tmpfs values."""
    volumes: list[str] = []
    tmpfs: list[str] = list(cfg.get("tmpfs", []))
    for v in cfg.get("volumes", []):
        ro = ":ro" if v.get("read_only") else ""
        if v["type"] == "tmpfs":
            size = v.get("tmpfs", {}).get("size")
            tmpfs.append(v["target"] + (f":size={size}" if size else ""))
        elif v["type"] == "bind":
            volumes.append(f"{v['source']}:{v['target']}{ro}")
        elif v.get("source"):
            volumes.append(f"{project.volumes[v['source']].name}:{v['target']}{ro}")
        else:
            volumes.append(v["target"])
    for kind, default_dir in (("secrets", "/run/secrets/"), ("configs", "/")):
        objects = project.secrets if kind == "secrets" else project.configs
        for ref in cfg.get(kind, []):
            target = ref.get("target") or ref["source"]
            if not target.startswith("/"):
                target = default_dir + target
            volumes.append(f"{objects[ref['source']].file}:{target}:ro")
    return volumes, tmpfs


def _health(cfg: dict[str, Any]) -> ContainerConfig:
    hc = cfg.get("healthcheck")
    if not hc:
        return {}
    test = hc.get("test", [])
    if hc.get("disable") or (test and test[0] == "NONE"):
        return {"no_healthcheck": True}
    out: ContainerConfig = {"health_interval": hc.get("interval", ""), "health_timeout": hc.get("timeout", ""),
                            "health_start_period": hc.get("start_period", ""),
                            "health_retries": str(hc["retries"]) if "retries" in hc else ""}
    if test:
        out["health_cmd"] = shlex.join(test[1:]) if test[0] == "CMD" else " ".join(test[1:])
    return out


def _network_mode(project: Project, mode: str, resolve: dict[str, str]) -> str:
    if mode.startswith("service:"):
        target = mode.removeprefix("service:")
        if target not in resolve:
            raise ComposeError(f'service "{target}" has no container to share its network with')
        return "container:" + resolve[target]
    if mode == "default":
        return "bridge"
    return mode


def container_config(project: Project, service: Service, number: int, *, oneoff: bool = False, name: str = "",
                     service_containers: dict[str, str] | None = None) -> tuple[ContainerConfig, list[Connect]]:
    """The config of container `number` of `service`; `service_containers`: service -> a container of it
    (for network_mode service:NAME)."""
    cfg = service.config
    limits = cfg.get("deploy", {}).get("resources", {}).get("limits", {})
    container_labels = dict(cfg.get("labels", {}))
    container_labels.update({
        labels.PROJECT: project.name, labels.SERVICE: service.name, labels.NUMBER: str(number),
        labels.CONFIG_HASH: service.config_hash, labels.ONEOFF: "True" if oneoff else "False",
        labels.WORKING_DIR: project.working_dir, labels.CONFIG_FILES: ",".join(project.config_files),
        labels.IMAGE: image_name(project, service), labels.VERSION: labels.VERSION_VALUE,
        labels.DEPENDS_ON: ",".join(f"{k}:{v}:false" for k, v in service.depends_on.items())})
    volumes, tmpfs = _mounts(project, cfg)
    config: ContainerConfig = {
        "image": image_name(project, service), "name": name or container_name(project, service, number),
        "cmd": cfg.get("command") or [], "env": [f"{k}={v}" for k, v in cfg.get("environment", {}).items()],
        "workdir": cfg.get("working_dir", ""), "user": cfg.get("user", ""), "group_add": cfg.get("group_add", []),
        "hostname": cfg.get("hostname", ""),
        "labels": container_labels, "tty": cfg.get("tty", False), "open_stdin": cfg.get("stdin_open", False),
        "dns": cfg.get("dns", []), "dns_search": cfg.get("dns_search", []), "add_hosts": cfg.get("extra_hosts", []),
        "publish": [] if oneoff else [_publish(p) for p in cfg.get("ports", [])],
        "volumes": volumes, "tmpfs": tmpfs,
        "memory": cfg.get("mem_limit") or limits.get("memory", ""), "memory_swap": cfg.get("memswap_limit", ""),
        "cpus": cfg.get("cpus") or limits.get("cpus", ""), "cpu_shares": cfg.get("cpu_shares", ""),
        "cpuset_cpus": cfg.get("cpuset", ""), "pids_limit": cfg.get("pids_limit") or limits.get("pids", ""),
        "ulimits": [f"{k}={v['soft']}:{v['hard']}" if isinstance(v, dict) else f"{k}={v}"
                    for k, v in cfg.get("ulimits", {}).items()],
        "cap_add": cfg.get("cap_add", []), "cap_drop": cfg.get("cap_drop", []),
        "privileged": cfg.get("privileged", False), "read_only": cfg.get("read_only", False),
        "security_opt": cfg.get("security_opt", []), "devices": cfg.get("devices", []),
        "restart": "" if oneoff else cfg.get("restart", ""),
        "log_opts": [f"{k}={v}" for k, v in cfg.get("logging", {}).get("options", {}).items()],
        "sysctls": cfg.get("sysctls", {}), "stop_signal": cfg.get("stop_signal", "")}
    if service.stop_timeout is not None:  # as compose: stop_grace_period is the container's StopTimeout
        config["stop_timeout"], config["stop_timeout_set"] = service.stop_timeout, True
    config.update(_health(cfg))
    if "entrypoint" in cfg:
        config["entrypoint_set"] = True
        config["entrypoint"] = cfg["entrypoint"] or []
    connects: list[Connect] = []
    if service.network_mode:
        config["network"] = _network_mode(project, service.network_mode, service_containers or {})
        return config, connects
    for n, attachment in enumerate(service.networks):
        network = project.networks[attachment.network]
        aliases = [service.name, *attachment.aliases]
        if n == 0:
            config.update({"network": network.name, "network_aliases": aliases, "ip": attachment.ipv4_address})
        else:
            connects.append(Connect(network=network.name, aliases=aliases, ip=attachment.ipv4_address))
    return config, connects
