"""info, version and system df. importlib.metadata and platform load only when asked: every pyctl run pays for its imports."""

from __future__ import annotations

import argparse
import sys

from .. import output
from ..api import Api, ApiError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyrunc_proto.pyrunc.system.v1.system_pb2 import ContainerUsage, DiskUsageResponse


def info(api: Api, args: argparse.Namespace) -> int:
    import importlib.metadata

    if args.format == "json":
        sys.stdout.write(api.system.info_json() + "\n")
        return 0
    i = api.system.info()
    lines = [
        "Client:",
        f" Version:    {importlib.metadata.version('pyctl')}",
        "",
        "Server:",
        f" Containers: {i.containers}",
        f"  Running: {i.containers_running}",
        f"  Paused: {i.containers_paused}",
        f"  Stopped: {i.containers_stopped}",
        f" Images: {i.images}",
        f" Server Version: {i.server_version}",
        f" Storage Driver: {i.storage_driver}",
        f" Cgroup Version: {i.cgroup_version}",
        f" Network: {i.default_network} (default)",
        f" Runtimes: {' '.join(i.runtimes)}",
        f" Default Runtime: {i.default_runtime}",
        f" Kernel Version: {i.kernel_version}",
        f" Operating System: {i.operating_system}",
        f" OSType: {i.os_type}",
        f" Architecture: {i.architecture}",
        f" CPUs: {i.ncpu}",
        f" Total Memory: {i.mem_total / (1 << 30):.2f}GiB",
        f" Name: {i.name}",
        f" Pyruncd Root Dir: {i.root_dir}",
        " Insecure Registries:",
        *(f"  {r}" for r in i.insecure_registries),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


# uname's machine -> Go's GOARCH, which docker's OS/Arch lines use
GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "armv6l": "arm", "i686": "386", "i386": "386",
          "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def version(api: Api, args: argparse.Namespace) -> int:
    import importlib.metadata
    import platform

    sys.stdout.write("\n".join([
        "Client:",
        f" Version:           {importlib.metadata.version('pyctl')}",
        " API version:       v1",
        f" Python version:    {platform.python_version()}",
        f" OS/Arch:           linux/{GOARCH.get(platform.machine(), platform.machine())}",
        "",
    ]) + "\n")
    try:
        v = api.system.version()
    except ApiError:
        sys.stdout.flush()
        raise
    sys.stdout.write("\n".join([
        "Server: pyruncd",
        " Engine:",
        f"  Version:          {v.version}",
        f"  API version:      {v.api_version}",
        f"  Python version:   {v.python_version}",
        f"  OS/Arch:          {v.os}/{v.arch}",
        f"  Kernel Version:   {v.kernel_version}",
    ]) + "\n")
    return 0


def add_info(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--format", default="", help="json")
    p.set_defaults(func=info)


def add_version(p: argparse.ArgumentParser) -> None:
    p.set_defaults(func=version)




def _reclaimable(reclaimable: int, total: int) -> str:
    """docker's RECLAIMABLE cell: the size, and its share of the total when there is one."""
    text = output.human_size(reclaimable)
    return f"{text} ({reclaimable * 100 // total}%)" if total > 0 else text


def _active(c: ContainerUsage) -> bool:
    return c.status in ("running", "paused", "restarting")


def _container_status(c: ContainerUsage) -> str:
    if c.status in ("running", "paused"):
        return "Up " + output.since(c.started_at).removesuffix(" ago") + (" (Paused)" if c.status == "paused" else "")
    if c.status == "exited":
        return f"Exited ({c.exit_code}) {output.since(c.finished_at)}"
    return c.status.capitalize()


def _summary(u: DiskUsageResponse) -> None:
    image_used = sum(i.size - i.shared_size for i in u.images if i.containers)
    container_size = sum(c.size for c in u.containers)
    volume_size = sum(v.size for v in u.volumes)
    cache_size = sum(b.size for b in u.build_cache if not b.shared)
    output.table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], [
        ["Images", str(len(u.images)), str(sum(1 for i in u.images if i.containers)),
         output.human_size(u.layers_size), _reclaimable(u.layers_size - image_used, u.layers_size)],
        ["Containers", str(len(u.containers)), str(sum(1 for c in u.containers if _active(c))),
         output.human_size(container_size),
         _reclaimable(sum(c.size for c in u.containers if not _active(c)), container_size)],
        ["Local Volumes", str(len(u.volumes)), str(sum(1 for v in u.volumes if v.links)),
         output.human_size(volume_size), _reclaimable(sum(v.size for v in u.volumes if not v.links), volume_size)],
        ["Build Cache", str(len(u.build_cache)), "0", output.human_size(cache_size), output.human_size(cache_size)],
    ])


def _verbose(u: DiskUsageResponse) -> None:
    sys.stdout.write("Images space usage:\n\n")
    rows = []
    for i in u.images:
        repo, _, tag = (i.repo_tags[0].rpartition(":") if i.repo_tags else ("<none>", "", "<none>"))
        rows.append([repo, tag, output.short_id(i.id), output.since(i.created), output.human_size(i.size, 3),
                     output.human_size(i.shared_size), output.human_size(i.size - i.shared_size), str(i.containers)])
    output.table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE", "UNIQUE SIZE", "CONTAINERS"], rows)
    sys.stdout.write("\nContainers space usage:\n\n")
    output.table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE", "CREATED", "STATUS", "NAMES"], [
        [c.id[:12], c.image, f'"{c.command[:20]}…"' if len(c.command) > 20 else f'"{c.command}"',
         str(c.local_volumes), output.human_size(c.size), output.since(c.created), _container_status(c), c.name]
        for c in u.containers])
    sys.stdout.write("\nLocal Volumes space usage:\n\n")
    output.table(["VOLUME NAME", "LINKS", "SIZE"], [[v.name, str(v.links), output.human_size(v.size)] for v in u.volumes])
    cache_size = sum(b.size for b in u.build_cache if not b.shared)
    sys.stdout.write(f"\nBuild cache usage: {output.human_size(cache_size)}\n\n")
    output.table(["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"], [
        [b.id.removeprefix("sha256:")[:12], "regular", output.human_size(b.size), output.since(b.created),
         output.since(b.created), "1", str(b.shared).lower()] for b in u.build_cache])


def df(api: Api, args: argparse.Namespace) -> int:
    usage = api.system.disk_usage()
    (_verbose if args.verbose else _summary)(usage)
    return 0


def add_df(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="store_true", help="show detailed information on space usage")
    p.set_defaults(func=df)
