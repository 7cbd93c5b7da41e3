"""A private dockerd (Debian's docker.io 20.10) for tests: own data root, exec root, socket,
pidfile and cgroup parent in a temp dir, extra runtimes registered with --add-runtime.

Usage:
    with Dockerd(runtimes={"pyrunc": "/path/to/pyrunc"}) as d:        # no networking at all
        d.load_image(".../busybox.tar")
        d.docker("run", "--rm", "--runtime", "pyrunc", "busybox", "true")

    with Dockerd(runtimes=..., network=True) as d:   # own bridge + iptables(-nft) rules, for -p

dockerd starts its own containerd (under the exec root), so nothing is shared with the host's.
Without networking it runs with --bridge none --iptables=false --ip-forward=false and touches
no host network state. With networking it attaches containers to a bridge this harness creates
(a unique name, not docker0) and lets dockerd write its iptables rules; stop() removes the
bridge, every iptables rule and chain that was not there before (a host dockerd's stay), the
nft chains and tables iptables-nft made for them, the FORWARD policy dockerd set, and restores
the sysctls dockerd turned on (ip_forward).
"""

import fcntl
import json
import os
import pty
import random
import select
import shlex
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time
from collections import Counter
from pathlib import Path

from tests.harness.cleanup import kill_trees, pids_naming, remove_cgroups, stop_process, unmount_under

DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"
# the docker CLI: /usr/local/bin/docker (28.x) if present negotiates down to 20.10's API 1.41
DOCKER = shutil.which("docker") or "/usr/bin/docker"
IPTABLES = shutil.which("iptables") or "/usr/sbin/iptables"
RUN_DOCKER = Path("/run/docker")
SYSCTLS = ("/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/bridge/bridge-nf-call-iptables",
           "/proc/sys/net/bridge/bridge-nf-call-ip6tables")


def available() -> str:
    """Why dockerd cannot run here, or "" if it can."""
    if os.geteuid() != 0:
        return "dockerd needs root"
    for binary in (DOCKERD, DOCKER, shutil.which("containerd") or "/usr/bin/containerd"):
        if not os.access(binary, os.X_OK):
            return f"{binary} is not installed (apt-get install docker.io)"
    return ""


class Dockerd:
    def __init__(self, runtimes: dict[str, str] | None = None, network: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dockerd-", dir="/tmp"))
        self.token = f"pyd{os.getpid()}{self.dir.name[-4:]}".replace("_", "x")
        self.data_root = self.dir / "data"
        # the exec root holds containerd's socket: keep the path short (sun_path is 108 bytes)
        self.exec_root = self.dir / "x"
        self.sock = self.dir / "d.sock"
        self.host = f"unix://{self.sock}"
        self.pidfile = self.dir / "dockerd.pid"
        self.log = self.dir / "dockerd.log"
        self.cgroup_parent = f"/{self.token}"
        self.runtimes = dict(runtimes or {})
        self.network = network
        self.bridge = self.token[:15]
        self.proc: subprocess.Popen | None = None
        self._run_docker_existed = RUN_DOCKER.exists()
        self._firewall: HostFirewall | None = None
        self.env = dict(os.environ, DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.dir / "cli"))

    # ----- lifecycle

    def start(self, timeout: float = 30.0) -> "Dockerd":
        argv = [DOCKERD, "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                "-H", self.host, "--pidfile", str(self.pidfile), "--cgroup-parent", self.cgroup_parent,
                "--storage-driver", "overlay2", "--log-level", "debug", "--config-file", str(self._write_config())]
        for name, path in self.runtimes.items():
            argv += ["--add-runtime", f"{name}={path}"]
        if self.network:
            self._firewall = HostFirewall()
            self._make_bridge()
            argv += ["--bridge", self.bridge, "--iptables=true", "--ip-forward=true", "--ip-masq=true"]
        else:
            argv += ["--bridge", "none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"]
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited with {self.proc.returncode}: {self.log_tail()}")
            if self.sock.exists() and self.docker("version", check=False).returncode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"dockerd did not come up in {timeout}s: {self.log_tail()}")

    def _write_config(self) -> Path:
        # our own daemon.json: the host's /etc/docker/daemon.json must not leak in, and the
        # daemon's identity key goes to our dir instead of /etc/docker/key.json
        cfg = self.dir / "daemon.json"
        cfg.write_text(json.dumps({"deprecated-key-path": str(self.dir / "key.json")}))
        return cfg

    def _make_bridge(self) -> None:
        # a /24 in 172.30.x.y that no interface here uses yet; containers on it live in
        # network namespaces of this machine only
        used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        for _ in range(50):
            net = f"172.30.{random.randrange(1, 255)}"
            if f" {net}." not in used:
                break
        subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", f"{net}.1/24", "dev", self.bridge], check=True)
        subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)

    def stop(self) -> None:
        try:
            if self.proc and self.proc.poll() is None:
                ids = self.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    self.docker("rm", "-f", *ids, check=False, timeout=60)
        finally:
            self._stop_daemon()
            # containerd, shims, conmon, docker-proxy, containers: whatever names our temp dir
            kill_trees(pids_naming(str(self.dir)), lambda: pids_naming(str(self.dir)))
            unmount_under(self.dir)
            remove_cgroups(self.token)
            if self.network:
                self._undo_network()
            if not self._run_docker_existed:
                # dockerd always makes /run/docker/plugins, whatever its exec root
                for d in (RUN_DOCKER / "plugins", RUN_DOCKER):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
            shutil.rmtree(self.dir, ignore_errors=True)

    def _stop_daemon(self) -> None:
        stop_process(self.proc, 20)
        self.proc = None

    def _undo_network(self) -> None:
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)
        if self._firewall is not None:
            self._firewall.restore()

    def __enter__(self) -> "Dockerd":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ----- clients

    def docker_argv(self, *args: str) -> list[str]:
        return [DOCKER, "-H", self.host, *args]

    def docker(self, *args: str, check: bool = True, timeout: float = 60,
               input: bytes | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.docker_argv(*args), env=self.env, capture_output=True, timeout=timeout,
                              input=input, stdin=None if input is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {proc.returncode}: "
                                 f"{proc.stderr.decode(errors='replace')}\n--- dockerd log:\n{self.log_tail()}")
        return proc

    def load_image(self, archive: str | os.PathLike) -> None:
        self.docker("load", "-i", str(archive), timeout=120)



def _rules(table: str) -> list[str]:
    out = subprocess.run([IPTABLES, "-t", table, "-S"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith("-A ")]


class HostFirewall:
    """The host's iptables rules and chains, nft chains and tables, FORWARD policy and forwarding sysctls
    as they are now; restore() takes back only what was added since (a host dockerd's own DOCKER chains
    and rules stay as they were)."""

    TABLES = ("nat", "filter")

    def __init__(self) -> None:
        self.sysctls = {p: Path(p).read_text() for p in SYSCTLS if os.path.exists(p)}
        self.nft = nft_objects()
        self.forward_policy = _forward_policy()
        self.chains = {table: _chains(table) for table in self.TABLES}
        self.rules = {table: _rules(table) for table in self.TABLES}

    def restore(self) -> None:
        for table in self.TABLES:
            added = Counter(r for r in _rules(table) if not _pyruncds(r))
            added.subtract(self.rules.get(table, []))
            for rule, count in added.items():
                for _ in range(count):
                    subprocess.run([IPTABLES, "-t", table, "-D", *shlex.split(rule)[1:]],
                                   capture_output=True, check=False)
            for chain in {c for c in _chains(table) if not _pyruncds(c)} - self.chains.get(table, set()):
                subprocess.run([IPTABLES, "-t", table, "-F", chain], capture_output=True, check=False)
                subprocess.run([IPTABLES, "-t", table, "-X", chain], capture_output=True, check=False)
        # then the nft chains and tables iptables-nft made for those rules, once empty
        tables, chains, rules = nft_objects()
        for chain in sorted(chains - self.nft[1]):
            if chain not in rules:
                subprocess.run(["nft", "delete", "chain", *chain], capture_output=True, check=False)
        tables, chains, _ = nft_objects()
        for table in tables - self.nft[0]:
            if not any(c[:2] == table for c in chains):
                subprocess.run(["nft", "delete", "table", *table], capture_output=True, check=False)
        policy = self.forward_policy or "ACCEPT"  # no filter table before: iptables-nft makes chains that accept
        if _forward_policy() not in ("", policy):
            subprocess.run([IPTABLES, "-P", "FORWARD", policy], capture_output=True, check=False)
        for path, value in self.sysctls.items():
            Path(path).write_text(value)


def _pyruncds(rule_or_chain: str) -> bool:
    """A pyruncd's FORWARD chain (PYRUNCD...) or a rule in or to it: the daemon's, which may be running
    meanwhile (networks/forward.py); never a dockerd's to take back."""
    return any(word.startswith("PYRUNCD") for word in rule_or_chain.split())


def _chains(table: str) -> set[str]:
    """User chains of an iptables table (-N lines; built-in chains show as -P)."""
    out = subprocess.run([IPTABLES, "-t", table, "-S"], capture_output=True, text=True).stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("-N ")}


def _forward_policy() -> str:
    """The filter table's FORWARD policy ("" if iptables-nft has no filter table yet)."""
    if ("ip", "filter") not in nft_objects()[0]:
        return ""
    out = subprocess.run([IPTABLES, "-S", "FORWARD"], capture_output=True, text=True).stdout
    return next((line.split()[2] for line in out.splitlines() if line.startswith("-P FORWARD")), "")


def run_in_pty(argv: list[str], env: dict[str, str], steps: list[tuple[bytes, bytes]] = (),
               rows: int = 30, cols: int = 100, timeout: float = 30) -> tuple[int, bytes]:
    """Run argv on a new pty of rows x cols, as a person at a terminal would: for each
    (wait_for, send) step, wait until wait_for has been printed, then type send. Returns the exit
    code and everything printed (the pty echoes what was typed)."""
    pid, master = pty.fork()
    if pid == 0:  # the child: only exec, whatever happens
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b""
    todo = list(steps)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if todo and todo[0][0] in out:
                os.write(master, todo.pop(0)[1])
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every process on the pty's other side is gone
                    break
                if not chunk:
                    break
                out += chunk
    finally:
        os.close(master)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def nft_objects() -> tuple[set, set, set]:
    """(tables, chains, chains holding rules) of the nft ruleset, as (family, table[, chain])."""
    out = subprocess.run(["nft", "-j", "list", "ruleset"], capture_output=True, text=True).stdout
    tables, chains, busy = set(), set(), set()
    for item in json.loads(out or '{"nftables": []}')["nftables"]:
        if "table" in item:
            tables.add((item["table"]["family"], item["table"]["name"]))
        elif "chain" in item:
            c = item["chain"]
            chains.add((c["family"], c["table"], c["name"]))
        elif "rule" in item:
            r = item["rule"]
            busy.add((r["family"], r["table"], r["chain"]))
    return tables, chains, busy
