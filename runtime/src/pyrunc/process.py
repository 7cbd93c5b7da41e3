"""The process's own settings: rlimits, user, environment, executable lookup, terminal."""

import os
import stat

from . import errors
from .errors import ConfigError, ContainerProcessError, PyruncError, reason

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CAP_SYS_RESOURCE = 24


def _rlimit_number(name):
    import resource

    return getattr(resource, name, None) if name.startswith("RLIMIT_") else None


def _has_capability(cap):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def validate_rlimits(rlimits, where="process.rlimits"):
    """Refuse, before anything is created, rlimits the kernel will refuse us."""
    import resource

    can_raise = None
    for i, rl in enumerate(rlimits):
        num = _rlimit_number(rl.type)
        if num is None:
            raise ConfigError(f"{where}[{i}].type: unknown rlimit {rl.type!r}")
        if rl.soft > rl.hard:
            raise ConfigError(f"{where}[{i}]: {rl.type} soft limit {rl.soft} is above its hard limit {rl.hard}")
        _, hard = resource.getrlimit(num)
        if hard != resource.RLIM_INFINITY and rl.hard > hard:
            if can_raise is None:
                can_raise = _has_capability(CAP_SYS_RESOURCE)
            if not can_raise:
                raise ConfigError(
                    f"{where}[{i}]: cannot raise {rl.type} hard limit to {rl.hard}: the current hard limit is "
                    f"{hard} and raising it needs CAP_SYS_RESOURCE, which this process lacks")


def set_rlimits(rlimits):
    import resource

    for rl in rlimits:
        try:
            resource.setrlimit(_rlimit_number(rl.type), (rl.soft, rl.hard))
        except (ValueError, OSError) as e:
            raise PyruncError(f"error setting rlimit {rl.type} to {rl.soft}/{rl.hard}: {e}") from None


def set_oom_score_adj(value):
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(value))
    except OSError as e:
        raise PyruncError(f"process.oomScoreAdj: cannot set {value}: {e.strerror}"
                          + (" (lowering it needs CAP_SYS_RESOURCE)" if e.errno == 13 else "")) from None


def switch_user(user):
    """Supplementary groups, gid, then uid (capabilities kept by the caller's keepcaps)."""
    try:
        if _setgroups_allowed():
            os.setgroups(list(dict.fromkeys(user.additional_gids)))  # once each, as runc: dockerd repeats some
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
    except OSError as e:
        raise PyruncError(f"cannot set uid {user.uid} / gid {user.gid}: {e.strerror}") from None


def _setgroups_allowed():
    try:
        with open("/proc/self/setgroups") as f:
            return f.read().strip() != "deny"
    except FileNotFoundError:
        return True


def env_with_home(env, uid):
    """runc adds HOME from the container's /etc/passwd (or "/") when the config does not set it."""
    if any(e.startswith("HOME=") for e in env):
        return list(env)
    home = "/"
    try:
        with open("/etc/passwd") as f:
            for line in f:
                parts = line.rstrip("\n").split(":")
                if len(parts) >= 6 and parts[2] == str(uid):
                    home = parts[5] or "/"
                    break
    except OSError:
        pass
    return list(env) + [f"HOME={home}"]


def find_executable(name, env):
    """Resolve args[0] as execve would after a PATH search (in the container's root)."""
    if "/" in name:
        try:
            st = os.stat(name)
        except OSError as e:
            raise ContainerProcessError(f'exec: "{name}": stat {name}: {reason(e)}') from None
        # what execve would refuse, refused now with runc's words (before create reports success)
        if not stat.S_ISREG(st.st_mode) or not os.access(name, os.X_OK):
            raise ContainerProcessError(f'exec: "{name}": permission denied')
        return name
    path = DEFAULT_PATH
    for entry in env:
        if entry.startswith("PATH="):
            path = entry[5:]
    for d in path.split(":"):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise ContainerProcessError(errors.EXECUTABLE_NOT_FOUND.format(name=name))


def close_extra_fds(keep_until):
    """Mark every fd >= keep_until close-on-exec, so only stdio and preserved fds reach the program."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= keep_until:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


# --- terminal ----------------------------------------------------------------

TIOCGPTN = 0x80045430
TIOCSPTLCK = 0x40045431
TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414


def open_pty():
    """A new pty from /dev/ptmx as the process sees it; returns (master fd, slave path)."""
    import fcntl
    import struct

    master = os.open("/dev/ptmx", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    n = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    return master, f"/dev/pts/{n}"


def set_winsize(fd, height, width):
    import fcntl
    import struct

    fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def send_console(sock_fd, master):
    """Hand the pty master to whoever listens on --console-socket (SCM_RIGHTS, as runc)."""
    import socket

    sock = socket.socket(fileno=sock_fd)
    try:
        socket.send_fds(sock, [b"/dev/ptmx"], [master])
    finally:
        sock.detach()


def become_console_owner(slave_path):
    """New session with the pty slave as controlling terminal and stdio."""
    import fcntl

    slave = os.open(slave_path, os.O_RDWR)
    os.setsid()
    fcntl.ioctl(slave, TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def connect_console_socket(path):
    """Connect in the caller's namespaces; the fd is inherited by init."""
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise PyruncError(f"--console-socket: cannot connect to {path}: {e.strerror}") from None
    return sock
