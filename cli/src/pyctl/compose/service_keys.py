"""One service's keys, checked and read into their long forms: what merge, extends, `config` and the
config hash work on. Keys the daemon's API cannot honour are refused here, by name."""

from __future__ import annotations

import shlex

from . import check, syntax

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# The spec's keys with no field in pyruncd's ContainerConfig, and what to say.
REFUSED = {
    "init": "the daemon's API has no init process option",
    "ipc": "the daemon's API has no ipc mode",
    "pid": "the daemon's API has no pid mode",
    "shm_size": "the daemon's API has no shm size",
    "cgroup_parent": "the daemon's API has no cgroup parent",
    "domainname": "the daemon's API has no domain name",
    "mac_address": "the daemon's API has no MAC address",
    "userns_mode": "the daemon's API has no user namespace mode",
    "isolation": "the daemon's API has no isolation mode",
    "links": "the daemon's API has no links (use the service names on the project network)",
    "external_links": "the daemon's API has no links",
    "volumes_from": "not supported by pyctl compose",
    "oom_score_adj": "the daemon's API has no OOM score",
    "oom_kill_disable": "the daemon's API has no OOM killer switch",
    "cpu_quota": "use cpus", "cpu_period": "use cpus", "mem_reservation": "the daemon's API has no reservation",
    "storage_opt": "the daemon's API has no storage options", "runtime": "not supported by pyctl compose",
    "device_cgroup_rules": "the daemon's API has no device rules", "post_start": "not supported by pyctl compose",
    "pre_stop": "not supported by pyctl compose", "develop": "not supported by pyctl compose",
    "annotations": "the daemon's API has no annotations", "attach": "not supported by pyctl compose",
    "credential_spec": "not supported on Linux", "blkio_config": "the daemon's API has no blkio limits",
    "cgroup": "the daemon's API has no cgroup namespace mode", "uts": "the daemon's API has no uts mode",
    "volume_driver": "the daemon has only the local volume driver",
}


def _command(value: object, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as e:
            raise check.fail(where, f'invalid command "{value}": {e}') from None
    return check.string_list(value, where)


def _env_files(value: object, where: str, base_dir: str) -> list[dict[str, Any]]:
    import os

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise check.fail(where, f"must be a string or a list, not {check.kind(value)}")
    out = []
    for n, item in enumerate(items):
        at = f"{where}[{n}]"
        if isinstance(item, dict):
            path = check.string(item.get("path", ""), f"{at}.path")
            required = check.boolean(item.get("required", True), f"{at}.required")
        else:
            path, required = check.string(item, at), True
        out.append({"path": os.path.normpath(os.path.join(base_dir, path)), "required": required})
    return out


def _ports(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise check.fail(where, f"must be a list, not {check.kind(value)}")
    out: list[dict[str, Any]] = []
    for n, item in enumerate(value):
        at = f"{where}[{n}]"
        out += [syntax.long_port(check.mapping(item, at), at)] if isinstance(item, dict) else syntax.short_port(item, at)
    return out


def _volumes(value: object, where: str, base_dir: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise check.fail(where, f"must be a list, not {check.kind(value)}")
    return [syntax.long_volume(check.mapping(v, f"{where}[{n}]"), f"{where}[{n}]", base_dir) if isinstance(v, dict)
            else syntax.short_volume(v, f"{where}[{n}]", base_dir) for n, v in enumerate(value)]


def _networks(value: object, where: str) -> dict[str, Any]:
    if isinstance(value, list):
        return {name: None for name in check.string_list(value, where)}
    out: dict[str, Any] = {}
    for name, cfg in check.mapping(value, where).items():
        at = f"{where}.{name}"
        if cfg is None:
            out[name] = None
            continue
        cfg = check.mapping(cfg, at)
        entry: dict[str, Any] = {}
        for k, v in cfg.items():
            if k == "aliases":
                entry["aliases"] = check.string_list(v, f"{at}.aliases")
            elif k == "ipv4_address":
                entry["ipv4_address"] = check.string(v, f"{at}.ipv4_address")
            elif k == "priority":
                entry["priority"] = check.integer(v, f"{at}.priority")
            else:
                raise check.fail(at, f"network option '{k}' is not supported (aliases, ipv4_address, priority)")
        out[name] = entry or None
    return out


_CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


def _depends_on(value: object, where: str) -> dict[str, Any]:
    if isinstance(value, list):
        return {name: {"condition": "service_started", "required": True} for name in check.string_list(value, where)}
    out = {}
    for name, cfg in check.mapping(value, where).items():
        at = f"{where}.{name}"
        cfg = check.mapping(cfg, at)
        condition = check.string(cfg.get("condition", "service_started"), f"{at}.condition")
        if condition not in _CONDITIONS:
            raise check.fail(f"{at}.condition", f'invalid condition "{condition}": want one of {", ".join(_CONDITIONS)}')
        entry = {"condition": condition, "required": check.boolean(cfg.get("required", True), f"{at}.required")}
        if "restart" in cfg:
            entry["restart"] = check.boolean(cfg["restart"], f"{at}.restart")
        out[name] = entry
    return out


def _healthcheck(value: object, where: str) -> dict[str, Any]:
    cfg = check.mapping(value, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        at = f"{where}.{k}"
        if k == "test":
            test = [v] if isinstance(v, str) else check.string_list(v, at)
            if isinstance(v, str):
                test = ["CMD-SHELL", v]
            if not test or test[0] not in ("CMD", "CMD-SHELL", "NONE"):
                raise check.fail(at, "must start with CMD, CMD-SHELL or NONE")
            out["test"] = test
        elif k in ("interval", "timeout", "start_period", "start_interval"):
            out[k] = check.go_duration(check.duration(v, at))
        elif k == "retries":
            out[k] = check.integer(v, at)
        elif k == "disable":
            out[k] = check.boolean(v, at)
        else:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    return out


def _deploy(value: object, where: str) -> dict[str, Any]:
    cfg = check.mapping(value, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        if k == "replicas":
            out["replicas"] = check.integer(v, f"{where}.replicas")
        elif k == "resources":
            resources = check.mapping(v, f"{where}.resources")
            for rk in resources:
                if rk not in ("limits", "reservations"):
                    raise check.fail(f"{where}.resources", f"additional property '{rk}' is not allowed")
            limits = check.mapping(resources.get("limits"), f"{where}.resources.limits")
            checked = {}
            for lk, lv in limits.items():
                if lk not in ("cpus", "memory", "pids"):
                    raise check.fail(f"{where}.resources.limits.{lk}", "not supported (cpus, memory, pids)")
                checked[lk] = check.string(lv, f"{where}.resources.limits.{lk}")
            if checked:
                out["resources"] = {"limits": checked}
        elif k in ("restart_policy", "placement", "update_config", "rollback_config", "endpoint_mode", "mode", "labels"):
            raise check.fail(f"{where}.{k}", "not supported by pyctl compose (a swarm setting)")
        else:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    return out


def _ulimits(value: object, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, v in check.mapping(value, where).items():
        if isinstance(v, dict):
            limit = check.mapping(v, f"{where}.{name}")
            out[name] = {"soft": check.integer(limit.get("soft"), f"{where}.{name}.soft"),
                         "hard": check.integer(limit.get("hard"), f"{where}.{name}.hard")}
        else:
            out[name] = check.integer(v, f"{where}.{name}")
    return out


def _logging(value: object, where: str) -> dict[str, Any]:
    cfg = check.mapping(value, where)
    driver = check.string(cfg.get("driver", "json-file"), f"{where}.driver")
    if driver not in ("json-file", "local"):
        raise check.fail(f"{where}.driver", f'logging driver "{driver}" is not supported: the daemon writes json-file logs')
    options = {k: check.string(v, f"{where}.options.{k}")
               for k, v in check.mapping(cfg.get("options"), f"{where}.options").items()}
    for k in options:
        if k not in ("max-size", "max-file"):
            raise check.fail(f"{where}.options.{k}", "not supported (max-size, max-file)")
    return {"driver": driver, "options": options} if options else {"driver": driver}


def _file_refs(value: object, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise check.fail(where, f"must be a list, not {check.kind(value)}")
    out = []
    for n, item in enumerate(value):
        at = f"{where}[{n}]"
        if isinstance(item, str):
            out.append({"source": item})
            continue
        cfg = check.mapping(item, at)
        entry: dict[str, Any] = {"source": check.string(cfg.get("source", ""), f"{at}.source")}
        for k, v in cfg.items():
            if k == "target":
                entry["target"] = check.string(v, f"{at}.target")
            elif k in ("uid", "gid", "mode"):
                entry[k] = check.string(v, f"{at}.{k}")
            elif k != "source":
                raise check.fail(at, f"additional property '{k}' is not allowed")
        out.append(entry)
    return out


def _extra_hosts(value: object, where: str) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}:{check.string(v, f'{where}.{k}')}" for k, v in check.mapping(value, where).items()]
    out = []
    for n, item in enumerate(check.string_list(value, where)):
        host, sep, ip = item.partition("=") if "=" in item else item.partition(":")
        if not sep or not host or not ip:
            raise check.fail(f"{where}[{n}]", f'invalid extra host "{item}": want HOST:IP')
        out.append(f"{host}:{ip}")
    return out


def _extends(value: object, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"service": value}
    cfg = check.mapping(value, where)
    out = {"service": check.string(cfg.get("service", ""), f"{where}.service")}
    if not out["service"]:
        raise check.fail(f"{where}.service", "is required")
    if "file" in cfg:
        out["file"] = check.string(cfg["file"], f"{where}.file")
    return out


def _build(value: object, where: str, base_dir: str) -> dict[str, Any]:
    import os

    cfg = {"context": value} if isinstance(value, str) else check.mapping(value, where)
    out: dict[str, Any] = {"context": os.path.normpath(os.path.join(base_dir, check.string(cfg.get("context", "."),
                                                                                            f"{where}.context")))}
    for k, v in cfg.items():
        if k == "dockerfile":
            out[k] = check.string(v, f"{where}.{k}")
        elif k == "target":
            out[k] = check.string(v, f"{where}.{k}")
        elif k == "args":
            out[k] = check.key_values(v, f"{where}.args")
        elif k != "context":
            raise check.fail(f"{where}.{k}", "not supported by pyctl compose (context, dockerfile, args, target)")
    return out


def _str(v: object, at: str) -> str:
    return check.string(v, at)


def _bool(v: object, at: str) -> bool:
    return check.boolean(v, at)


def _grace(v: object, at: str) -> str:
    return check.go_duration(check.duration(v, at))


READERS: dict[str, Callable[[object, str, str], object]] = {
    "image": lambda v, at, _b: _str(v, at),
    "build": _build,
    "command": lambda v, at, _b: _command(v, at),
    "entrypoint": lambda v, at, _b: _command(v, at),
    "environment": lambda v, at, _b: check.key_values(v, at),
    "env_file": _env_files,
    "ports": lambda v, at, _b: _ports(v, at),
    "expose": lambda v, at, _b: check.strings(v, at),
    "volumes": _volumes,
    "networks": lambda v, at, _b: _networks(v, at),
    "network_mode": lambda v, at, _b: _str(v, at),
    "depends_on": lambda v, at, _b: _depends_on(v, at),
    "healthcheck": lambda v, at, _b: _healthcheck(v, at),
    "restart": lambda v, at, _b: _str(v, at),
    "deploy": lambda v, at, _b: _deploy(v, at),
    "scale": lambda v, at, _b: check.integer(v, at),
    "mem_limit": lambda v, at, _b: _str(v, at),
    "memswap_limit": lambda v, at, _b: _str(v, at),
    "cpus": lambda v, at, _b: _str(v, at),
    "cpu_shares": lambda v, at, _b: _str(v, at),
    "cpuset": lambda v, at, _b: _str(v, at),
    "pids_limit": lambda v, at, _b: _str(v, at),
    "user": lambda v, at, _b: _str(v, at),
    "group_add": lambda v, at, _b: check.string_list(v, at),
    "working_dir": lambda v, at, _b: _str(v, at),
    "hostname": lambda v, at, _b: _str(v, at),
    "container_name": lambda v, at, _b: _str(v, at),
    "dns": lambda v, at, _b: check.strings(v, at),
    "dns_search": lambda v, at, _b: check.strings(v, at),
    "extra_hosts": lambda v, at, _b: _extra_hosts(v, at),
    "labels": lambda v, at, _b: {k: v or "" for k, v in check.key_values(v, at).items()},
    "cap_add": lambda v, at, _b: check.string_list(v, at),
    "cap_drop": lambda v, at, _b: check.string_list(v, at),
    "devices": lambda v, at, _b: check.string_list(v, at),
    "security_opt": lambda v, at, _b: check.string_list(v, at),
    "privileged": lambda v, at, _b: _bool(v, at),
    "read_only": lambda v, at, _b: _bool(v, at),
    "tty": lambda v, at, _b: _bool(v, at),
    "stdin_open": lambda v, at, _b: _bool(v, at),
    "tmpfs": lambda v, at, _b: check.strings(v, at),
    "stop_signal": lambda v, at, _b: _str(v, at),
    "sysctls": lambda v, at, _b: {k: v or "" for k, v in check.key_values(v, at).items()},
    "stop_grace_period": lambda v, at, _b: _grace(v, at),
    "ulimits": lambda v, at, _b: _ulimits(v, at),
    "logging": lambda v, at, _b: _logging(v, at),
    "secrets": lambda v, at, _b: _file_refs(v, at),
    "configs": lambda v, at, _b: _file_refs(v, at),
    "profiles": lambda v, at, _b: check.string_list(v, at),
    "extends": lambda v, at, _b: _extends(v, at),
    "pull_policy": lambda v, at, _b: _str(v, at),
    "platform": lambda v, at, _b: _str(v, at),
}


def read_service(raw: object, name: str, base_dir: str) -> dict[str, Any]:
    """One service's mapping in long form; `base_dir` resolves its relative paths."""
    where = f"services.{name}"
    cfg = check.mapping(raw, where)
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        if key.startswith("x-"):
            continue
        at = f"{where}.{key}"
        if key in REFUSED:
            raise check.fail(at, f"not supported: {REFUSED[key]}")
        reader = READERS.get(key)
        if reader is None:
            raise check.fail(where, f"additional property '{key}' is not allowed")
        if value is None and key not in ("command", "entrypoint"):
            continue
        out[key] = reader(value, at, base_dir)
    return out
