"""info and version. importlib.metadata and platform load only when asked: every pyctl run pays for its imports."""

import argparse
import sys

from ..api import Api, ApiError


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


