"""Linux security modules: AppArmor profiles and SELinux labels for the process and its mounts.

Where the kernel has the module, the label is written to the exec attribute just before
execve (the kernel applies it at the exec), and mountLabel becomes a context= mount option.
Where it does not, a config asking for one is refused: running unconfined without a word
is what the issue forbids. The /proc and /sys paths are parameters, for the unit tests.
"""

import os

from .errors import ConfigError, PyruncError, reason

APPARMOR_DISABLED = "apparmor profile specified but AppArmor is not enabled on this system"
# runc's words (libcontainer/configs/validate)
SELINUX_DISABLED = "selinux label is specified in config, but selinux is disabled or not supported"
# mounts that take no context= (runc's mountToRootfs labels these otherwise, or not at all)
_UNLABELLED_MOUNTS = ("bind", "proc", "sysfs", "mqueue", "cgroup", "cgroup2")


class Host:
    """Which LSMs this kernel has, and where their attributes are."""

    def __init__(self, sys="/sys", proc_self="/proc/self"):
        self.sys = sys
        self.proc_self = proc_self

    def apparmor_enabled(self):
        try:
            with open(f"{self.sys}/module/apparmor/parameters/enabled", "rb") as f:
                return f.read(1) == b"Y"
        except OSError:
            return False

    def selinux_enabled(self):
        return os.path.exists(f"{self.sys}/fs/selinux/enforce")

    def apparmor_exec_attr(self):
        """The per-LSM attribute (kernel 5.8+) when it is there, else the shared one (as runc)."""
        own = f"{self.proc_self}/attr/apparmor/exec"
        return own if os.path.exists(own) else f"{self.proc_self}/attr/exec"

    def selinux_exec_attr(self):
        return f"{self.proc_self}/attr/exec"


def validate(where, apparmor_profile, selinux_label, mount_label=None, host=None):
    """Refuse what this kernel cannot apply, before anything is created; `where` maps a field to its name."""
    host = host or Host()
    if apparmor_profile and not host.apparmor_enabled():
        raise ConfigError(f"{where['apparmor']}: {APPARMOR_DISABLED}")
    if (selinux_label or mount_label) and not host.selinux_enabled():
        raise ConfigError(f"{where['selinux' if selinux_label else 'mount']}: {SELINUX_DISABLED}")


def exec_attrs(apparmor_profile, selinux_label, host=None):
    """[(path, bytes)] to write before execve, in order."""
    host = host or Host()
    out = []
    if apparmor_profile:
        out.append((host.apparmor_exec_attr(), f"exec {apparmor_profile}".encode()))
    if selinux_label:
        out.append((host.selinux_exec_attr(), selinux_label.encode()))
    return out


def apply_exec_attrs(attrs):
    """In init, last thing before execve: the kernel applies these at the exec."""
    for path, value in attrs:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, value)
            finally:
                os.close(fd)
        except OSError as e:
            raise PyruncError(f"cannot apply security label: write {path}: {reason(e)}") from None


def mount_data(data, fstype, mount_label):
    """The mount's data with SELinux's context= added (runc's label.FormatMountLabel)."""
    if not mount_label or fstype in _UNLABELLED_MOUNTS:
        return data
    context = f'context="{mount_label}"'
    return f"{data},{context}" if data else context
