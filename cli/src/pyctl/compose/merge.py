"""The Compose Specification's merge of several files' long forms: mappings merge key by key, sequences
append, command/entrypoint/healthcheck.test are replaced, and ports, volumes, secrets and configs are
unique by their key (a later entry with the same key replaces the earlier)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_REPLACED = {"command", "entrypoint"}


def _port_key(p: dict[str, Any]) -> object:
    return (p.get("host_ip", ""), p["target"], p.get("published", ""), p.get("protocol", "tcp"))


def _unique(key: Callable[[dict[str, Any]], object]) -> Callable[[list[Any], list[Any]], list[Any]]:
    def merge(base: list[Any], over: list[Any]) -> list[Any]:
        out = {key(item): item for item in base}
        for item in over:
            k = key(item)
            out[k] = merge_values(out[k], item) if k in out else item
        return list(out.values())

    return merge


def _append_unique(base: list[Any], over: list[Any]) -> list[Any]:
    return base + [item for item in over if item not in base]


_SEQUENCES: dict[str, Callable[[list[Any], list[Any]], list[Any]]] = {
    "ports": _unique(_port_key),
    "volumes": _unique(lambda v: v["target"]),
    "secrets": _unique(lambda s: s.get("target") or s["source"]),
    "configs": _unique(lambda s: s.get("target") or s["source"]),
}


def merge_values(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge_values(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list):
        return _append_unique(base, over)
    return over


def merge_service(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if k not in base or k in _REPLACED or v is None:
            out[k] = v
        elif k in _SEQUENCES:
            out[k] = _SEQUENCES[k](base[k], v)
        elif k == "healthcheck":
            out[k] = {**base[k], **v}
        else:
            out[k] = merge_values(base[k], v)
    return out


def merge_projects(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Two files' long forms (services, networks, volumes, secrets, configs, name) as one."""
    out = dict(base)
    for k, v in over.items():
        if k == "services":
            services = dict(base.get("services", {}))
            for name, svc in v.items():
                services[name] = merge_service(services[name], svc) if name in services else svc
            out[k] = services
        elif k in base and isinstance(v, dict):
            out[k] = merge_values(base[k], v)
        else:
            out[k] = v
    return out
