"""A client of any runc-compatible binary through its command line, as go-runc is for containerd.

Every call passes `--root` and `--log <bundle>/log.json --log-format json`; on failure the error
is the runtime's last "error" line in that log (runc prints little on stderr when --log is set).
When the binary is pyrunc's own script for the shim's interpreter, the same command line runs in
a forked child instead of an exec'd interpreter (inprocess.py); anything else is exec'd.
"""

import os

from . import inprocess, spawn

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (the shim never does)
if TYPE_CHECKING:
    from .process import StdioFds

DEFAULT_BINARY = "pyrunc"
DEFAULT_ROOT = "/run/containerd"
RUNTIME_FILE = "runtime"  # in the bundle: the binary and root used, one a line, for `delete` after a crash


class RuncError(Exception):
    """The runtime binary failed; the message is its own error text, exit_code its exit status."""

    def __init__(self, message: str, exit_code: int = 255) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _which(name: str) -> str | None:
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(d or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def resolve_binary(name: str, argv0: str) -> str:
    """An explicit path is used as is; a bare name is looked up beside this shim, then on PATH."""
    if "/" in name:
        return name
    own = argv0 if "/" in argv0 else (_which(argv0) or "")
    if own:
        beside = os.path.join(os.path.dirname(os.path.abspath(own)), name)
        if os.access(beside, os.X_OK):
            return beside
    found = _which(name)
    if found is None:
        raise RuncError(f"runtime binary {name!r} not found beside {own or 'the shim'} nor on PATH")
    return found


def default_root(binary: str, root_option: str, namespace: str) -> str:
    """containerd's runc shim uses /run/containerd/runc/<ns>; each binary gets its own directory."""
    base = root_option or os.path.join(DEFAULT_ROOT, os.path.basename(binary))
    return os.path.join(base, namespace)


def parse_pids(out: bytes) -> list[int]:
    """`ps --format json` prints a JSON array of pids (or null)."""
    text = out.decode().strip().strip("[]").strip()
    if text in ("", "null"):
        return []
    return [int(p) for p in text.split(",")]


class Runc:
    def __init__(self, binary: str, root: str, log: str) -> None:
        self.binary = binary
        self.root = root
        self.log = log  # <bundle>/log.json
        self.in_process = inprocess.is_pyrunc(binary)

    def _run(self, what: str, args: list[str], stdio: "StdioFds | None" = None, input: bytes | None = None) -> bytes:
        """stdio: the descriptors a new container process inherits (create, exec); other commands
        get their output captured (never for create/exec: the process would inherit the pipes)."""
        argv = [self.binary, "--root", self.root, "--log", self.log, "--log-format", "json", *args]
        try:
            res = spawn.run(argv, *(stdio or (None, None, None)), input=input, capture=stdio is None,
                            start=inprocess.fork_pyrunc if self.in_process else spawn.posix_spawn)
        except OSError as e:
            raise RuncError(f"OCI runtime {what} failed: {self.binary}: {e.strerror}") from e
        if res.returncode != 0:
            raise RuncError(f"OCI runtime {what} failed: {self.last_error(res.stderr)}", res.returncode)
        return res.stdout

    def last_error(self, stderr: bytes = b"") -> str:
        import json

        msg = ""
        try:
            with open(self.log, "rb") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(entry, dict) and entry.get("level") == "error":
                        msg = str(entry.get("msg", ""))
        except OSError:
            pass
        if not msg and stderr:
            msg = stderr.decode(errors="replace").strip()
        return msg or "unknown error"

    def create(self, cid: str, bundle: str, pid_file: str, console_socket: str = "",
               no_pivot: bool = False, no_new_keyring: bool = False, stdio: "StdioFds" = (None, None, None)) -> None:
        args = ["create", "--bundle", bundle, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        if no_pivot:
            args.append("--no-pivot")
        if no_new_keyring:
            args.append("--no-new-keyring")
        self._run("create", [*args, cid], stdio)

    def start(self, cid: str) -> None:
        self._run("start", ["start", cid])

    def exec(self, cid: str, process_file: str, pid_file: str, console_socket: str = "",
             stdio: "StdioFds" = (None, None, None)) -> None:
        args = ["exec", "--process", process_file, "--detach", "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        self._run("exec", [*args, cid], stdio)

    def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        self._run("kill", ["kill", *(["--all"] if all_processes else []), cid, str(signal)])

    def delete(self, cid: str, force: bool = False) -> None:
        self._run("delete", ["delete", *(["--force"] if force else []), cid])

    def ps(self, cid: str) -> list[int]:
        return parse_pids(self._run("ps", ["ps", "--format", "json", cid]))

    def pause(self, cid: str) -> None:
        self._run("pause", ["pause", cid])

    def resume(self, cid: str) -> None:
        self._run("resume", ["resume", cid])

    def update(self, cid: str, resources_json: bytes) -> None:
        self._run("update", ["update", "--resources", "-", cid], input=resources_json)
