"""A container's limits, security, restart policy, health check and log options: HostFlags (as typed)
resolved into HostConfig (types.py), every flag checked in docker's words.
"""

from typing import Any

from . import health as healths
from . import resources as res
from .logs import log_opts_map, parse_log_opts
from .restart import parse_restart
from .types import HostConfig, HostFlags


def resolve(f: HostFlags, image_config: dict[str, Any], auto_remove: bool,
            log_defaults: dict[str, str]) -> HostConfig:
    """Every flag parsed and checked, so a bad one fails `create` before anything exists."""
    return HostConfig(
        resources=res.parse_resources(memory=f.memory, memory_swap=f.memory_swap, cpus=f.cpus,
                                      cpu_shares=f.cpu_shares, cpuset_cpus=f.cpuset_cpus, pids_limit=f.pids_limit),
        security=res.parse_security(cap_add=f.cap_add, cap_drop=f.cap_drop, privileged=f.privileged,
                                    read_only=f.read_only, security_opt=f.security_opt, devices=f.devices,
                                    ulimits=f.ulimits),
        restart=parse_restart(f.restart, auto_remove),
        health=healths.resolve(image_config, cmd=f.health_cmd, interval=f.health_interval,
                               timeout=f.health_timeout, retries=f.health_retries,
                               start_period=f.health_start_period, disabled=f.no_healthcheck),
        log=parse_log_opts(log_opts_map(f.log_opts), log_defaults))
