"""The task's rootfs mounts (containerd's snapshot, usually one overlay), made with mount(8)."""

import os

from . import spawn

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyrunc_proto.messages import containerd_types_Mount

# mount(2) takes its options in one page: longer ones are cut, and overlay then fails
OPTIONS_MAX = os.sysconf("SC_PAGESIZE") - 1


def compact_lowerdirs(options: list[str]) -> tuple[str, list[str]]:
    """Options too long for one page, with lowerdirs made relative to their common parent (and that
    parent, to mount from), as containerd does for deep images; ("", options) when they fit or cannot."""
    if len(",".join(options)) <= OPTIONS_MAX:
        return "", options
    for i, opt in enumerate(options):
        if opt.startswith("lowerdir="):
            lowers = opt[len("lowerdir="):].split(":")
            if len(lowers) < 2 or not all(os.path.isabs(p) for p in lowers):
                break
            common = os.path.commonpath(lowers)
            if common == "/":
                break
            relative = "lowerdir=" + ":".join(os.path.relpath(p, common) for p in lowers)
            return common, options[:i] + [relative] + options[i + 1:]
    return "", options


def mount_rootfs(mounts: "Sequence[containerd_types_Mount]", target: str) -> None:
    for m in mounts:
        workdir, options = compact_lowerdirs(list(m.options)) if m.type == "overlay" else ("", list(m.options))
        args = ["mount", "-t", m.type]
        if options:
            args += ["-o", ",".join(options)]
        proc = _run_in([*args, m.source, os.path.abspath(target)], workdir)
        if proc.returncode != 0:
            from pyrunc_ttrpc.status import Code, TtrpcError  # not at import: `shim delete` only unmounts

            raise TtrpcError(Code.UNKNOWN, f"mount rootfs {m.type} on {target}: "
                             f"{proc.stderr.decode(errors='replace').strip()}")


def _run_in(args: list[str], workdir: str) -> spawn.Result:
    """mount(8) started from workdir, where relative lowerdirs resolve (posix_spawn has no chdir of its
    own here: the shim changes its directory for the spawn; the rootfs is mounted before any exec's
    threads exist, and nothing in the shim resolves relative paths)."""
    if not workdir:
        return spawn.run(args, capture=True)
    back = os.open(".", os.O_PATH | os.O_CLOEXEC)
    try:
        os.chdir(workdir)
        return spawn.run(args, capture=True)
    finally:
        os.fchdir(back)
        os.close(back)


def unmount_rootfs(target: str) -> None:
    """Unmount every layer stacked on the rootfs (lazily if busy); a no-op when nothing is there."""
    while os.path.ismount(target):
        if spawn.run(["umount", target], capture=True).returncode != 0:
            spawn.run(["umount", "-l", target], capture=True)
            break


def start_unmount(target: str) -> int | None:
    """umount(8) of target started, not waited for (None: nothing is mounted there); finish_unmount()
    waits for it."""
    if not os.path.ismount(target):
        return None
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        return spawn.posix_spawn(["umount", target], [null, null, null])
    except OSError:
        return None  # finish_unmount() tries again, as unmount_rootfs() does
    finally:
        os.close(null)


def finish_unmount(pid: int | None, target: str) -> None:
    """Wait for start_unmount()'s umount(8), then unmount what is still there as unmount_rootfs() does
    (another layer, or a busy mount: lazily)."""
    if pid is not None:
        os.waitpid(pid, 0)
    unmount_rootfs(target)


def poststop_hooks(bundle: str) -> bool:
    """Whether the bundle's config.json may hold poststop hooks (read as bytes: no json import);
    True when it cannot be read."""
    try:
        with open(os.path.join(bundle, "config.json"), "rb") as f:
            return b'"poststop"' in f.read()
    except OSError:
        return True
