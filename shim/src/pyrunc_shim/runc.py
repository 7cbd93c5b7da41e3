"""A client of any runc-compatible binary through its command line, as go-runc is for containerd.

Every call passes `--root` and `--log <bundle>/log.json --log-format json`; on failure the error
is the runtime's last "error" line in that log (runc prints little on stderr when --log is set).
"""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

DEFAULT_BINARY = "pyrunc"
DEFAULT_ROOT = "/run/containerd"


class RuncError(Exception):
    """The runtime binary failed; the message is its own error text."""


def resolve_binary(name: str) -> str:
    """An explicit path is used as is; a bare name is looked up beside this shim, then on PATH."""
    if "/" in name:
        return name
    own = sys.argv[0] if "/" in sys.argv[0] else (shutil.which(sys.argv[0]) or "")
    if own:
        beside = os.path.join(os.path.dirname(os.path.abspath(own)), name)
        if os.access(beside, os.X_OK):
            return beside
    found = shutil.which(name)
    if found is None:
        raise RuncError(f"runtime binary {name!r} not found beside {own or 'the shim'} nor on PATH")
    return found


def default_root(binary: str, root_option: str, namespace: str) -> str:
    """containerd's runc shim uses /run/containerd/runc/<ns>; each binary gets its own directory."""
    base = root_option or os.path.join(DEFAULT_ROOT, os.path.basename(binary))
    return os.path.join(base, namespace)


@dataclass
class Runc:
    binary: str
    root: str
    log: str  # <bundle>/log.json

    def _args(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, "--log", self.log, "--log-format", "json", *args]

    def _run(self, what: str, args: list[str], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
             stderr=subprocess.PIPE, input_data: bytes | None = None) -> bytes:
        if input_data is not None:
            stdin = subprocess.PIPE
        proc = subprocess.run(self._args(*args), stdin=stdin, stdout=stdout, stderr=stderr,
                              input=input_data, check=False)
        if proc.returncode != 0:
            raise RuncError(f"OCI runtime {what} failed: {self.last_error(proc.stderr)}")
        return proc.stdout or b""

    def last_error(self, stderr: bytes | None = None) -> str:
        msg = ""
        try:
            with open(self.log, "rb") as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if entry.get("level") == "error":
                        msg = entry.get("msg", "")
        except OSError:
            pass
        if not msg and stderr:
            msg = stderr.decode(errors="replace").strip()
        return msg or "unknown error"

    def create(self, cid: str, bundle: str, pid_file: str, console_socket: str = "",
               no_pivot: bool = False, no_new_keyring: bool = False, stdio=(None, None, None)) -> None:
        args = ["create", "--bundle", bundle, "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        if no_pivot:
            args.append("--no-pivot")
        if no_new_keyring:
            args.append("--no-new-keyring")
        stdin, stdout, stderr = (s if s is not None else subprocess.DEVNULL for s in stdio)
        self._run("create", [*args, cid], stdin=stdin, stdout=stdout, stderr=stderr)

    def start(self, cid: str) -> None:
        self._run("start", ["start", cid])

    def exec(self, cid: str, process_file: str, pid_file: str, console_socket: str = "",
             stdio=(None, None, None)) -> None:
        args = ["exec", "--process", process_file, "--detach", "--pid-file", pid_file]
        if console_socket:
            args += ["--console-socket", console_socket]
        stdin, stdout, stderr = (s if s is not None else subprocess.DEVNULL for s in stdio)
        self._run("exec", [*args, cid], stdin=stdin, stdout=stdout, stderr=stderr)

    def kill(self, cid: str, signal: int, all_processes: bool = False) -> None:
        self._run("kill", ["kill", *(["--all"] if all_processes else []), cid, str(signal)])

    def delete(self, cid: str, force: bool = False) -> None:
        self._run("delete", ["delete", *(["--force"] if force else []), cid])

    def state(self, cid: str) -> dict:
        return json.loads(self._run("state", ["state", cid], stdout=subprocess.PIPE))

    def ps(self, cid: str) -> list[int]:
        out = self._run("ps", ["ps", "--format", "json", cid], stdout=subprocess.PIPE)
        return json.loads(out) or []

    def pause(self, cid: str) -> None:
        self._run("pause", ["pause", cid])

    def resume(self, cid: str) -> None:
        self._run("resume", ["resume", cid])

    def update(self, cid: str, resources_json: bytes) -> None:
        self._run("update", ["update", "--resources", "-", cid], input_data=resources_json)
