"""`pyrunc update`: change a live container's cgroup limits, as runc's update does.

The values come from --resources FILE (or - for stdin: a linux.resources JSON
object) or from runc's per-field flags. Like runc, only cpu, memory (limit,
reservation, swap), pids, blockIO weight and unified are updated; 0 or absent
means "leave as is". The container's saved config.json is updated too, so exec
and later updates see the new values.
"""

import json
import os
import sys

from ..container import Container
from ..errors import PyruncError, reason

# go-units RAMInBytes: binary multiples, "k", "kb", "kib" (any case) all mean 1024
_RAM_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(text):
    """docker/go-units RAMInBytes: "512m", "1.5G", "100MiB", "4096"."""
    err = PyruncError(f"invalid size: '{text}'")
    s = text
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] == "."):
        i += 1
    number, suffix = s[:i], s[i:]
    if not number or number.startswith(".") or number.endswith(".") or ".." in number:
        raise err
    suffix = suffix.removeprefix(" ").lower()
    unit = suffix[:1] if suffix[:1] and suffix[:1] in "kmgtp" else ""
    rest = suffix[len(unit):]
    if rest not in ("", "b", "i", "ib") or (rest.startswith("i") and not unit):
        raise err
    return int(float(number) * _RAM_UNITS[unit])


def _parse_uint(name, text):
    if not text.isdigit():
        raise PyruncError(f'invalid value for {name}: strconv.ParseUint: parsing "{text}": invalid syntax')
    value = int(text)
    if value >= 1 << 64:
        raise PyruncError(f'invalid value for {name}: strconv.ParseUint: parsing "{text}": value out of range')
    return value


def _parse_int(name, text):
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit():
        raise PyruncError(f'invalid value for {name}: strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(1 << 63) <= value < 1 << 63:
        raise PyruncError(f'invalid value for {name}: strconv.ParseInt: parsing "{text}": value out of range')
    return value


def _from_flags(flags):
    """runc's per-field flags -> a linux.resources-shaped dict."""
    cpu, memory = {}, {}
    if flags.get("cpuset_cpus"):
        cpu["cpus"] = flags["cpuset_cpus"]
    if flags.get("cpuset_mems"):
        cpu["mems"] = flags["cpuset_mems"]
    for flag, key in (("cpu_period", "period"), ("cpu_rt_period", "realtimePeriod"), ("cpu_share", "shares")):
        if flags.get(flag):
            cpu[key] = _parse_uint(flag.replace("_", "-"), flags[flag])
    for flag, key in (("cpu_quota", "quota"), ("cpu_rt_runtime", "realtimeRuntime")):
        if flags.get(flag):
            cpu[key] = _parse_int(flag.replace("_", "-"), flags[flag])
    for flag, key in (("memory", "limit"), ("memory_swap", "swap"), ("kernel_memory", "kernel"),
                      ("kernel_memory_tcp", "kernelTCP"), ("memory_reservation", "reservation")):
        text = flags.get(flag)
        if text:
            try:
                memory[key] = -1 if text == "-1" else ram_in_bytes(text)
            except PyruncError as e:
                raise PyruncError(f"invalid value for {flag.replace('_', '-')}: {e}") from None
    out = {"cpu": cpu, "memory": memory}
    if flags.get("pids_limit"):
        out["pids"] = {"limit": flags["pids_limit"]}
    if flags.get("blkio_weight"):
        out["blockIO"] = {"weight": flags["blkio_weight"]}
    return out


def _read_resources(where):
    try:
        if where == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(where, "rb") as f:
                raw = f.read()
    except OSError as e:
        raise PyruncError(f"open {where}: {reason(e)}") from None
    try:
        obj = json.loads(raw)
    except ValueError as e:
        raise PyruncError(f"resources: invalid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise PyruncError("resources: expected a JSON object")
    return obj


# the parts of linux.resources runc's update changes, and the keys in each
_UPDATABLE = {
    "cpu": ("shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"),
    "memory": ("limit", "reservation", "swap"),
    "pids": ("limit",),
    "blockIO": ("weight",),
}


def _changes(requested, saved):
    """Only the set (non-zero) updatable values; quota and period are completed from saved, as runc does."""
    out = {}
    for section, keys in _UPDATABLE.items():
        values = {k: v for k, v in (requested.get(section) or {}).items() if k in keys and v not in (0, "", None)}
        if values:
            out[section] = values
    cpu = out.get("cpu")
    if cpu and ("quota" in cpu) != ("period" in cpu):
        # the v2 cpu.max file (and systemd) take both at once
        missing = "period" if "quota" in cpu else "quota"
        old = (saved.get("cpu") or {}).get(missing)
        if old:
            cpu[missing] = old
    if requested.get("unified"):
        out["unified"] = dict(requested["unified"])
    return out


def update(ctx, args, resources=None, **flags):
    from .. import cgroups, spec

    cgroups.set_logger(ctx.log)
    if resources:
        requested = _read_resources(resources)
        try:
            spec.from_dict(spec.Resources, requested, "resources")  # type errors name the field
        except PyruncError as e:
            raise PyruncError(str(e)) from None
    else:
        requested = _from_flags(flags)
    mem = requested.get("memory") or {}
    if mem.get("kernel") or mem.get("kernelTCP"):
        ctx.log.warning("Kernel memory settings are ignored and will be removed")
    if flags.get("l3_cache_schema") or flags.get("mem_bw_schema"):
        raise PyruncError("Intel RDT is not supported by pyrunc on this host")

    c = Container.load(ctx.root, args[0])
    try:
        c.require("update")
        config_path = c.path("config.json")
        with open(config_path, "rb") as f:
            config = json.loads(f.read())
        saved = config.setdefault("linux", {}).setdefault("resources", {})
        changes = _changes(requested, saved)
        if not changes:
            return 0
        c.cgroup().apply(spec.from_dict(spec.Resources, changes, "resources"))
        for section, values in changes.items():
            if section == "unified":
                saved["unified"] = values
            else:
                saved.setdefault(section, {}).update(values)
        c.write_private("config.json.tmp", json.dumps(config).encode())
        os.rename(config_path + ".tmp", config_path)
    finally:
        c.unlock()
    return 0
