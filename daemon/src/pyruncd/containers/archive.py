"""`cp` inside a container's rootfs: a helper process that chroots into it first.

Paths in a container are the container's to define: any symlink in them must resolve inside
its rootfs, never on the host. Rather than resolving them by hand, the helper chroots into the
rootfs (with everything it needs already imported) and lets the kernel resolve them there.

    python -m pyruncd.containers.archive get ROOTFS PATH   # a tar of PATH on stdout
    python -m pyruncd.containers.archive put ROOTFS PATH   # a tar on stdin, into PATH
"""

import os
import posixpath
import sys
import tarfile


def _renamed(members, top: str, new: str):
    """The archive's top entry (and what is under it) under a new name."""
    for m in members:
        if m.name == top or m.name.startswith(top + "/"):
            m.name = new + m.name[len(top):]
        yield m


def get(path: str, out) -> None:
    if not os.path.lexists(path):
        raise SystemExit(f"Could not find the file {path} in container")
    name = posixpath.basename(path.rstrip("/")) or "."
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(path, arcname=name)


def put(path: str, src) -> None:
    """As docker: into PATH when it is a directory, else as PATH (the archive's single top entry renamed)."""
    with tarfile.open(fileobj=src, mode="r|") as tar:
        if os.path.isdir(path):
            tar.extractall(path, filter="tar")
            return
        parent = posixpath.dirname(path.rstrip("/")) or "/"
        if not os.path.isdir(parent):
            raise SystemExit(f"Could not find the file {parent} in container")
        members = iter(tar)
        first = next(members, None)
        if first is None:
            return
        top = first.name.split("/")[0]
        for m in _renamed([first], top, posixpath.basename(path.rstrip("/"))):
            tar.extract(m, parent, filter="tar")
        for m in _renamed(members, top, posixpath.basename(path.rstrip("/"))):
            tar.extract(m, parent, filter="tar")


def main(argv: list[str]) -> int:
    mode, rootfs, path = argv
    os.chroot(rootfs)
    os.chdir("/")
    try:
        if mode == "get":
            get(path, sys.stdout.buffer)
        else:
            put(path, sys.stdin.buffer)
    except OSError as e:
        print(f"{path}: {e.strerror}", file=sys.stderr)
        return 1
    except tarfile.TarError as e:
        print(f"{path}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
