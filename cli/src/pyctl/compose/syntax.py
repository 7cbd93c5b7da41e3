"""The short syntaxes of ports and volumes, read into their long forms."""

from __future__ import annotations

import os
import re

from . import check

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_PORT_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def _port_range(text: str, where: str, original: str) -> tuple[int, int]:
    m = _PORT_RANGE.fullmatch(text)
    if not m:
        raise check.fail(where, f'invalid port "{original}"')
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    if not 0 < low <= high <= 65535:
        raise check.fail(where, f'invalid port "{original}"')
    return low, high


def short_port(value: object, where: str) -> list[dict[str, Any]]:
    """[[host_ip:]published:]target[/protocol], ranges allowed; one long form per target port."""
    text = check.string(value, where)
    spec, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        raise check.fail(where, f'invalid protocol "{protocol}" in "{text}"')
    host_ip = ""
    if spec.startswith("["):  # [::1]:8080:80
        end = spec.find("]")
        if end < 0:
            raise check.fail(where, f'invalid port "{text}"')
        host_ip, spec = spec[1:end], spec[end + 2:]
    parts = spec.split(":")
    if len(parts) == 3:
        host_ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    elif len(parts) == 1:
        published, target = "", parts[0]
    else:
        raise check.fail(where, f'invalid port "{text}"')
    low, high = _port_range(target, where, text)
    if not published:
        return [long_port({"target": p, "protocol": protocol, "host_ip": host_ip}, where) for p in range(low, high + 1)]
    plow, phigh = _port_range(published, where, text)
    if phigh - plow != high - low and high != low:
        raise check.fail(where, f'invalid port "{text}": the ranges differ in size')
    if high == low:
        return [long_port({"target": low, "published": published, "protocol": protocol, "host_ip": host_ip}, where)]
    return [long_port({"target": low + i, "published": str(plow + i), "protocol": protocol, "host_ip": host_ip}, where)
            for i in range(high - low + 1)]


def long_port(raw: dict[str, Any], where: str) -> dict[str, Any]:
    known = {"target", "published", "host_ip", "protocol", "mode", "name", "app_protocol"}
    for k in raw:
        if k not in known:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    if "target" not in raw:
        raise check.fail(where, "target is required")
    target = raw["target"]
    if isinstance(target, str):
        target = _port_range(target, f"{where}.target", target)[0]
    target = check.integer(target, f"{where}.target")
    if not 0 < target <= 65535:
        raise check.fail(f"{where}.target", f'invalid port "{target}"')
    published = check.string(raw.get("published") or "", f"{where}.published")
    if published:
        _port_range(published, f"{where}.published", published)
    mode = check.string(raw.get("mode", "ingress"), f"{where}.mode")
    if mode not in ("ingress", "host"):
        raise check.fail(f"{where}.mode", f'invalid mode "{mode}"')
    out: dict[str, Any] = {"mode": mode, "target": target}
    if published:
        out["published"] = published
    if raw.get("host_ip"):
        out["host_ip"] = check.string(raw["host_ip"], f"{where}.host_ip")
    out["protocol"] = check.string(raw.get("protocol") or "tcp", f"{where}.protocol")
    return out


def _source_path(source: str, base_dir: str) -> str:
    if source.startswith("~"):
        source = os.path.expanduser(source)
    return os.path.normpath(os.path.join(base_dir, source))


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or os.path.isabs(source)


_MODES = {"ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent", "shared", "rshared", "slave",
          "rslave", "private", "rprivate"}


def short_volume(value: object, where: str, base_dir: str) -> dict[str, Any]:
    """[source:]target[:mode]."""
    text = check.string(value, where)
    parts = text.split(":")
    if len(parts) == 1:
        source, target, mode = "", parts[0], ""
    elif len(parts) == 2:
        if parts[1] in _MODES and parts[0].startswith("/"):
            source, target, mode = "", parts[0], parts[1]
        else:
            source, target, mode = parts[0], parts[1], ""
    elif len(parts) == 3:
        source, target, mode = parts
    else:
        raise check.fail(where, f'invalid volume specification "{text}"')
    if not target.startswith("/"):
        raise check.fail(where, f'invalid volume specification "{text}": the target must be an absolute path')
    for m in mode.split(",") if mode else []:
        if m not in _MODES:
            raise check.fail(where, f'invalid mode "{m}" in "{text}"')
    out: dict[str, Any] = {"type": "volume", "target": target}
    if source and _is_path(source):
        out = {"type": "bind", "source": _source_path(source, base_dir), "target": target}
    elif source:
        out["source"] = source
    if "ro" in mode.split(","):
        out["read_only"] = True
    return out


def long_volume(raw: dict[str, Any], where: str, base_dir: str) -> dict[str, Any]:
    known = {"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"}
    for k in raw:
        if k not in known:
            raise check.fail(where, f"additional property '{k}' is not allowed")
    kind = check.string(raw.get("type", ""), f"{where}.type")
    if kind not in ("bind", "volume", "tmpfs"):
        raise check.fail(f"{where}.type", f'unsupported mount type "{kind}": want bind, volume or tmpfs')
    target = check.string(raw.get("target", ""), f"{where}.target")
    if not target.startswith("/"):
        raise check.fail(f"{where}.target", "must be an absolute path")
    out: dict[str, Any] = {"type": kind, "target": target}
    source = check.string(raw.get("source") or "", f"{where}.source")
    if kind == "bind":
        if not source:
            raise check.fail(f"{where}.source", "a bind mount needs a source")
        out["source"] = _source_path(source, base_dir)
    elif kind == "volume" and source:
        out["source"] = source
    elif kind == "tmpfs" and source:
        raise check.fail(f"{where}.source", "a tmpfs mount takes no source")
    if raw.get("read_only"):
        out["read_only"] = check.boolean(raw["read_only"], f"{where}.read_only")
    if kind == "tmpfs" and raw.get("tmpfs"):
        size = check.mapping(raw["tmpfs"], f"{where}.tmpfs").get("size")
        if size is not None:
            out["tmpfs"] = {"size": check.string(size, f"{where}.tmpfs.size")}
    return out
