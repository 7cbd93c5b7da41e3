"""Fixtures for the runtime contract tests: they drive a runc-compatible binary
only through its command line, so RUNTIME=/usr/sbin/runc runs them against runc."""

import itertools
import json
import os
import subprocess
import time

import pytest

from tests.harness.leaks import leaks

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
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
        """Run a command; returns CompletedProcess with text stdout/stderr."""
        p = subprocess.run(self.cmd(*args, log=log, log_format=log_format), capture_output=True, text=True,
                           input=input, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{args} exited {p.returncode}: {p.stderr.strip()}")
        return p

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def wait_status(self, cid, status, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state(cid)["status"]
            if st == status or time.monotonic() > deadline:
                return st
            time.sleep(0.02)

    def ids(self):
        p = self("list", "-q", check=False)
        return p.stdout.split()


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


@pytest.fixture(scope="session", autouse=True)
def _fixture_rootfs():
    if not os.path.exists(os.path.join(ROOTFS, "bin", "busybox")):
        pytest.exit(f"fixture rootfs missing at {ROOTFS}: run `make fixtures`", returncode=2)


@pytest.fixture
def token():
    return f"t{os.getpid()}x{next(_counter)}"


@pytest.fixture
def rt(tmp_path, token):
    """The runtime under test, with a private --root; checks for and cleans up leaks after the test."""
    root = tmp_path / "state"
    runtime = Runtime(RUNTIME, str(root), token)
    yield runtime
    left = leaks(token, tmp_path)
    left_ids = runtime.ids() if root.exists() else []
    for cid in left_ids:
        runtime("delete", "--force", cid, check=False)
    _force_clean(token, tmp_path)
    assert not left_ids, f"containers left in --root: {left_ids}"
    assert not left, "leaked:\n" + "\n".join(left)
    if root.exists():
        assert not os.listdir(root), f"state left in {root}: {os.listdir(root)}"


def _force_clean(token, tmp_path):
    """Last resort, so one failing test does not poison the machine for the next."""
    from tests.harness.leaks import cgroup_dirs_naming, mounts_naming, processes_naming

    for line in processes_naming(token, str(tmp_path)):
        try:
            os.kill(int(line.split(":")[0]), 9)
        except ProcessLookupError:
            pass
    time.sleep(0.05)
    for m in reversed(mounts_naming(token, str(tmp_path))):
        subprocess.run(["umount", "-l", m.split()[4]], capture_output=True)
    for d in sorted(cgroup_dirs_naming(token), key=len, reverse=True):
        for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
            try:
                os.rmdir(sub)
            except OSError:
                pass


@pytest.fixture
def bundle(tmp_path):
    return BundleFactory(tmp_path)
