"""Driving a runc-compatible binary only through its command line, so
RUNTIME=/usr/sbin/runc runs the same tests against runc."""

import itertools
import json
import os
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROOTFS = os.path.join(REPO, "spec-fixtures", "out", "bundle", "rootfs")
RUNTIME = os.environ.get("RUNTIME") or os.path.join(REPO, ".venv", "bin", "pyrunc")
IS_RUNC = os.path.basename(RUNTIME) == "runc"
_counter = itertools.count()


class Runtime:
    """One test's view of the runtime binary, with its own --root."""

    def __init__(self, binary, root, token):
        self.binary = binary
        self.root = root
        self.token = token

    def new_id(self, name="c"):
        return f"{self.token}-{name}{next(_counter)}"

    def cmd(self, *args, log=None, log_format=None):
        argv = [self.binary, "--root", self.root]
        if log:
            argv += ["--log", log]
        if log_format:
            argv += ["--log-format", log_format]
        return argv + [str(a) for a in args]

    def __call__(self, *args, check=True, input=None, timeout=30, log=None, log_format=None, **kw):
        """Run a command; returns CompletedProcess with text stdout/stderr.

        Output goes through files, not pipes: a detached container inherits the
        runtime's stdio and would hold a pipe open long after the command exits.
        """
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(self.cmd(*args, log=log, log_format=log_format), stdout=out, stderr=err,
                               input=input.encode() if input is not None else None,
                               stdin=None if input is not None else subprocess.DEVNULL, timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"{args} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def wait_status(self, cid, status, timeout=5.0):
        """Poll `state` until it says status (a container not there yet counts as no status)."""
        deadline = time.monotonic() + timeout
        while True:
            p = self("state", cid, check=False)
            st = json.loads(p.stdout)["status"] if p.returncode == 0 else None
            if st == status or time.monotonic() > deadline:
                return st
            time.sleep(0.02)

    def ids(self):
        p = self("list", "-q", check=False)
        return p.stdout.split()


def cgroup_dir(pid, ctrl):
    """The host directory of process pid's cgroup in the v1 hierarchy of ctrl."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrl in ctrls.split(","):
                return f"/sys/fs/cgroup/{ctrl}{path}"
    raise AssertionError(f"{pid} has no {ctrl} cgroup")


def base_config(args, rootfs=ROOTFS):
    from pyrunc.default_spec import default_spec

    cfg = default_spec()
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = list(args)
    cfg["root"] = {"path": rootfs, "readonly": True}
    return cfg


class BundleFactory:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.n = 0

    def __call__(self, args=("true",), edit=None, config=None):
        """A bundle dir whose rootfs is the shared read-only fixture; `edit(cfg)` may change the config."""
        self.n += 1
        bundle = self.tmp_path / f"bundle{self.n}"
        bundle.mkdir()
        cfg = config if config is not None else base_config(args)
        if edit:
            edit(cfg)
        (bundle / "config.json").write_text(json.dumps(cfg) if not isinstance(cfg, str) else cfg)
        return bundle




def new_token():
    """Unique per test and per process: other suites run on this host at the same time."""
    return f"t{os.getpid()}x{next(_counter)}"
