"""pyruncd's files are root's: a local user reads no `-e` value and no container output from them.

meta.db (and its -wal and -shm) and a container's bundle config.json hold the environment, the json log
holds what the container printed. The data root and containers/ are 0710 (docker's mode), the files
0600/0640, and a root an older pyruncd made wider is narrowed at start. The probe is a child process
that became uid/gid 65534 (nobody) with no groups and tries to open every file and list every directory.
Containers must still work for a non-root container user: its rootfs and volumes are mounted in while
pyrunc is root, so it never walks the private paths.
"""

import json
import os
import stat
import uuid
from pathlib import Path

import pytest

from tests.harness.busybox_daemon import busybox_daemon, no_leaks, wait_for

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]
NOBODY = 65534


def _as_an_older_pyruncd_left_it(d):
    """The harness's temp dir is 0700, which would hide the root from everyone whatever pyruncd does;
    the root as an older pyruncd left it: wide directories, a world-readable meta.db."""
    os.chmod(d.dir, 0o755)
    (d.root / "containers").mkdir(parents=True)
    os.chmod(d.root, 0o755)
    (d.root / "meta.db").touch()  # an empty file is an empty database
    os.chmod(d.root / "meta.db", 0o644)


@pytest.fixture(scope="module")
def daemon():
    with busybox_daemon(prepare=_as_an_older_pyruncd_left_it) as d:
        yield d


@pytest.fixture
def d(daemon):
    with no_leaks(daemon):
        yield daemon


def as_nobody(paths: list[Path]) -> list[str]:
    """What a child running as nobody (no groups) could open or list among paths."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            got = []
            for p in paths:
                try:
                    if p.is_dir() and not p.is_symlink():
                        os.listdir(p)
                    else:
                        with open(p, "rb") as f:
                            f.read(1)
                    got.append(str(p))
                except OSError:
                    pass
            os.write(w, json.dumps(got).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read()
    os.waitpid(pid, 0)
    return json.loads(out)


def everything_under(top: Path) -> list[Path]:
    """Every path below top, not into the container's mounted rootfs (the container's own business)."""
    found = []
    for parent, dirs, files in os.walk(top):
        dirs[:] = [x for x in dirs if not os.path.ismount(os.path.join(parent, x))]
        found += [Path(parent, x) for x in dirs + files]
    return found


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_no_secret_is_readable_by_other_users(d):
    secret = f"s3cret-{uuid.uuid4().hex}"
    name = f"priv-{uuid.uuid4().hex[:8]}"
    d.pyctl("run", "-d", "--name", name, "-e", f"SECRET={secret}", "busybox", "sh", "-c",
            "echo out-$SECRET; exec sleep 100")
    cid = d.pyctl("inspect", "-f", "{{.Id}}", name).stdout.strip()
    wait_for(lambda: secret in d.pyctl("logs", name).stdout)
    paths = [d.dir, *everything_under(d.dir)]
    holding = [p for p in paths if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes()]
    bundle = d.root / "containers" / cid / "bundle" / "config.json"
    # the probe means something: the secret is on disk where it used to leak
    assert bundle in holding and any(p.name.startswith("meta.db") for p in holding), holding
    readable = set(as_nobody(paths))
    # nothing of pyruncd's: only the harness's dir (made 0755 above) and the daemon's stderr it keeps there
    assert readable <= {str(d.dir), str(d.dir / "pyruncd.log")}, readable
    assert not readable & {str(p) for p in holding}
    assert mode(d.root) == mode(d.root / "containers") == mode(d.root / "containers" / cid) == 0o710
    assert mode(bundle) == 0o600
    for f in ("meta.db", "meta.db-wal", "meta.db-shm"):
        assert mode(d.root / f) == 0o600, f


def test_container_log_is_private(d):
    name = f"priv-{uuid.uuid4().hex[:8]}"
    d.pyctl("run", "--name", name, "busybox", "echo", "hello")
    cid = d.pyctl("inspect", "-f", "{{.Id}}", name).stdout.strip()
    log = d.root / "containers" / cid / f"{cid}-json.log"
    assert mode(log) in (0o600, 0o640)


def test_non_root_user_still_reaches_its_rootfs_and_volumes(d):
    vol = f"privvol-{uuid.uuid4().hex[:8]}"
    try:
        d.pyctl("run", "--rm", "-v", f"{vol}:/data", "busybox", "sh", "-c",
                "echo from-root > /data/f; mkdir /data/mine; chown 1000:1000 /data/mine")
        r = d.pyctl("run", "--rm", "-u", "1000:1000", "-w", "/data/mine", "-v", f"{vol}:/data", "busybox", "sh",
                    "-c", "id -u; cat /data/f; echo mine > ./g; cat ./g; cat /etc/hostname >/dev/null && echo etc")
        assert r.stdout.split() == ["1000", "from-root", "mine", "etc"], r
        name = f"priv-{uuid.uuid4().hex[:8]}"
        d.pyctl("run", "-d", "--name", name, "-v", f"{vol}:/data", "busybox", "sleep", "100")
        r = d.pyctl("exec", "-u", "1000", "-w", "/data/mine", name, "sh", "-c", "id -u; cat g /data/f")
        assert r.stdout.split() == ["1000", "mine", "from-root"], r
        d.pyctl("rm", "-f", name)
    finally:
        d.pyctl("volume", "rm", vol, check=False)
