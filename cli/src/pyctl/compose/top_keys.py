"""The top-level networks, volumes, secrets and configs, checked and read into their long forms."""

from __future__ import annotations

import os

from . import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _external(cfg: dict[str, Any], where: str) -> bool:
    ext = cfg.get("external", False)
    if isinstance(ext, dict):  # the old {name: X} form
        return True
    return check.boolean(ext, f"{where}.external")


def _labels(cfg: dict[str, Any], where: str) -> dict[str, str]:
    return {k: v or "" for k, v in check.key_values(cfg.get("labels"), f"{where}.labels").items()}


def network(raw: object, name: str) -> dict[str, Any]:
    where = f"networks.{name}"
    cfg = check.mapping(raw, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        at = f"{where}.{k}"
        if k.startswith("x-"):
            continue
        if k == "driver":
            driver = check.string(v, at)
            if driver != "bridge":
                raise check.fail(at, f'network driver "{driver}" is not supported: want bridge')
            out[k] = driver
        elif k == "name":
            out[k] = check.string(v, at)
        elif k in ("internal", "attachable"):
            out[k] = check.boolean(v, at)
        elif k == "enable_ipv6":
            if check.boolean(v, at):
                raise check.fail(at, "IPv6 networks are not supported by the daemon")
        elif k == "external":
            out[k] = _external(cfg, where)
            if isinstance(v, dict) and "name" in v:
                out["name"] = check.string(v["name"], f"{at}.name")
        elif k == "labels":
            out[k] = _labels(cfg, where)
        elif k == "ipam":
            out[k] = _ipam(v, at)
        elif k == "driver_opts":
            raise check.fail(at, "not supported: the daemon's API has no network driver options")
        else:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    return out


def _ipam(raw: object, where: str) -> dict[str, Any]:
    cfg = check.mapping(raw, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        if k == "driver":
            if check.string(v, f"{where}.driver") != "default":
                raise check.fail(f"{where}.driver", "only the default IPAM driver is supported")
        elif k == "config":
            if not isinstance(v, list):
                raise check.fail(f"{where}.config", f"must be a list, not {check.kind(v)}")
            if len(v) > 1:
                raise check.fail(f"{where}.config", "the daemon's networks take one subnet")
            pools = []
            for n, item in enumerate(v):
                at = f"{where}.config[{n}]"
                pool = check.mapping(item, at)
                entry = {}
                for pk, pv in pool.items():
                    if pk not in ("subnet", "gateway"):
                        raise check.fail(f"{at}.{pk}", "not supported (subnet, gateway)")
                    entry[pk] = check.string(pv, f"{at}.{pk}")
                pools.append(entry)
            out["config"] = pools
        elif k != "options":
            raise check.fail(where, f"additional property '{k}' is not allowed")
    return out


def volume(raw: object, name: str) -> dict[str, Any]:
    where = f"volumes.{name}"
    cfg = check.mapping(raw, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        at = f"{where}.{k}"
        if k.startswith("x-"):
            continue
        if k == "driver":
            if check.string(v, at) != "local":
                raise check.fail(at, f'volume driver "{v}" is not supported: want local')
            out[k] = "local"
        elif k == "name":
            out[k] = check.string(v, at)
        elif k == "external":
            out[k] = _external(cfg, where)
            if isinstance(v, dict) and "name" in v:
                out["name"] = check.string(v["name"], f"{at}.name")
        elif k == "labels":
            out[k] = _labels(cfg, where)
        elif k == "driver_opts":
            raise check.fail(at, "not supported: the daemon's API has no volume driver options")
        else:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    return out


def file_object(raw: object, name: str, kind: str, base_dir: str) -> dict[str, Any]:
    """A secret or config: only file-based ones, mounted read-only from the host."""
    where = f"{kind}.{name}"
    cfg = check.mapping(raw, where)
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        at = f"{where}.{k}"
        if k == "file":
            out["file"] = os.path.normpath(os.path.join(base_dir, check.string(v, at)))
        elif k == "name":
            out[k] = check.string(v, at)
        elif k in ("external", "environment", "content", "driver", "template_driver"):
            raise check.fail(at, f"not supported: only file-based {kind} are (mounted read-only from the host)")
        elif k != "labels" and not k.startswith("x-"):
            raise check.fail(where, f"additional property '{k}' is not allowed")
    if "file" not in out:
        raise check.fail(where, "file is required")
    return out
