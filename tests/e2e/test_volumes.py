"""Volumes end to end through pyctl: named and anonymous volumes, binds, tmpfs, --volumes-from,
`volume create/ls/inspect/rm/prune`, and that nothing is left behind.

One daemon and its images for the module; every test removes what it made (containers, volumes,
host dirs) and checks that no mount names the daemon's dir or the test's own dir.
"""

import json
import os
import uuid
from pathlib import Path

import pytest
from spec_fixtures import busybox_layer, make_image, write_docker_archive
from spec_fixtures.image import DEFAULT_ENV

from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.leaks import leaks, mounts_naming

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    # an image with a VOLUME, as a Dockerfile's `VOLUME /etc` makes
    voltar = tmp_path_factory.mktemp("volimg") / "volimg.tar"
    write_docker_archive(str(voltar), {"volimg:latest": make_image(
        [busybox_layer()], config={"Env": list(DEFAULT_ENV), "Cmd": ["sh"], "Volumes": {"/etc": {}}})})
    with busybox_daemon(archives=[voltar]) as d:
        yield d


@pytest.fixture
def d(daemon, tmp_path):
    """The daemon; afterwards every container and volume this test made is gone and left nothing."""
    before = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split())
    vols_before = set(daemon.pyctl("volume", "ls", "-q").stdout.split())
    yield daemon
    mine = set(daemon.pyctl("ps", "-aq", "--no-trunc").stdout.split()) - before
    if mine:
        daemon.pyctl("rm", "-f", *mine)
    new_vols = set(daemon.pyctl("volume", "ls", "-q").stdout.split()) - vols_before
    if new_vols:
        daemon.pyctl("volume", "rm", *new_vols)
    for cid in mine:
        left = leaks(cid, daemon.root / "containers" / cid)
        assert not left, "\n".join(left)
    assert not mounts_naming(str(daemon.dir), str(tmp_path))
    assert sorted(p.name for p in (daemon.root / "volumes").iterdir()) == sorted(vols_before)


def token() -> str:
    return uuid.uuid4().hex[:10]


def run(d, *args, check=True):
    return d.pyctl("run", "--rm", *args, check=check)


def mounts_of(d, name: str) -> list[dict]:
    return json.loads(d.pyctl("inspect", name).stdout)[0]["Mounts"]


def test_named_volume_outlives_its_container(d):
    v = f"v-{token()}"
    c = f"c-{token()}"
    d.pyctl("run", "--name", c, "-v", f"{v}:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert v in d.pyctl("volume", "ls", "-q").stdout.split()
    d.pyctl("rm", "-v", c)  # -v removes anonymous volumes only
    assert run(d, "-v", f"{v}:/other", "busybox", "cat", "/other/f").stdout == "kept\n"
    doc = json.loads(d.pyctl("volume", "inspect", v).stdout)[0]
    assert doc == {"CreatedAt": doc["CreatedAt"], "Driver": "local", "Labels": None,
                   "Mountpoint": str(d.root / "volumes" / v / "_data"), "Name": v, "Options": None, "Scope": "local"}
    assert (d.root / "volumes" / v / "_data" / "f").read_text() == "kept\n"


def test_new_volume_is_seeded_from_the_image(d):
    v = f"v-{token()}"
    out = run(d, "-v", f"{v}:/etc", "busybox", "sh", "-c", "grep ^root: /etc/passwd; echo mine > /etc/passwd").stdout
    assert out.startswith("root:x:0:0:")
    # not empty any more: not seeded again, the volume's content wins
    assert run(d, "-v", f"{v}:/etc", "busybox", "cat", "/etc/passwd").stdout == "mine\n"
    # nocopy: an empty volume stays empty
    v2 = f"v-{token()}"
    assert run(d, "-v", f"{v2}:/etc:nocopy", "busybox", "ls", "/etc").stdout.split() == [
        "hostname", "hosts", "resolv.conf"]


def test_bind_mount_shows_host_changes_live(d, tmp_path):
    host = tmp_path / "share"
    host.mkdir()
    c = f"c-{token()}"
    d.pyctl("run", "-d", "--name", c, "-v", f"{host}:/share", "busybox", "sleep", "60")
    (host / "a").write_text("from host\n")
    assert d.pyctl("exec", c, "cat", "/share/a").stdout == "from host\n"
    d.pyctl("exec", c, "sh", "-c", "echo from container > /share/b")
    assert (host / "b").read_text() == "from container\n"
    assert mounts_of(d, c) == [{"Type": "bind", "Source": str(host), "Destination": "/share", "Mode": "",
                                "RW": True, "Propagation": "rprivate"}]
    d.pyctl("rm", "-f", c)


def test_bind_source_made_for_v_but_refused_for_mount(d, tmp_path):
    missing = tmp_path / "made" / "by-v"
    run(d, "-v", f"{missing}:/x", "busybox", "true")
    assert missing.is_dir()
    r = run(d, "--mount", f"type=bind,source={tmp_path}/nope,target=/x", "busybox", "true", check=False)
    assert r.returncode == 125
    assert r.stderr.strip() == (f'pyctl: Error response from daemon: invalid mount config for type "bind": '
                                f"bind source path does not exist: {tmp_path}/nope")


def test_read_only_mounts_refuse_writes(d, tmp_path):
    v = f"v-{token()}"
    r = run(d, "-v", f"{v}:/ro:ro", "busybox", "touch", "/ro/x", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    r = run(d, "--mount", f"type=bind,src={tmp_path},dst=/ro,readonly", "busybox", "touch", "/ro/x", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert not (tmp_path / "x").exists()
    c = f"c-{token()}"
    d.pyctl("create", "--name", c, "-v", f"{tmp_path}:/b:ro", "busybox", "true")
    assert mounts_of(d, c)[0]["RW"] is False and mounts_of(d, c)[0]["Mode"] == "ro"


def test_tmpfs(d):
    out = run(d, "--tmpfs", "/t:size=2m", "--mount", "type=tmpfs,target=/m,tmpfs-size=1m,tmpfs-mode=1770",
              "busybox", "sh", "-c", "stat -f -c %T /t; stat -c %a /m; grep -E ' /(t|m) ' /proc/mounts").stdout
    lines = out.splitlines()
    assert lines[0] == "tmpfs" and lines[1] == "1770"
    t = next(line for line in lines if " /t " in line)
    assert "size=2048k" in t and all(o in t.split()[3].split(",") for o in ("nosuid", "nodev", "noexec"))
    assert "size=1024k" in next(line for line in lines if " /m " in line)


def test_volumes_from(d, tmp_path):
    v = f"v-{token()}"
    src = f"c-{token()}"
    d.pyctl("create", "--name", src, "-v", f"{v}:/data", "-v", "/anon", "-v", f"{tmp_path}:/bind", "busybox", "true")
    (tmp_path / "h").write_text("bound\n")
    out = run(d, "--volumes-from", src, "busybox", "sh", "-c",
              "echo shared > /data/s; echo a > /anon/a; cat /bind/h").stdout
    assert out == "bound\n"
    assert run(d, "--volumes-from", f"{src}:ro", "busybox", "cat", "/data/s", "/anon/a").stdout == "shared\na\n"
    r = run(d, "--volumes-from", f"{src}:ro", "busybox", "touch", "/data/t", check=False)
    assert "Read-only file system" in r.stderr
    anon = next(m["Name"] for m in mounts_of(d, src) if m["Destination"] == "/anon")
    assert anon in d.pyctl("volume", "ls", "-q").stdout.split()  # --rm of the borrower left it to its owner
    r = run(d, "--volumes-from", "no-such-container", "busybox", "true", check=False)
    assert "No such container: no-such-container" in r.stderr


def test_rm_v_removes_anonymous_volumes_only(d):
    v = f"v-{token()}"
    c = f"c-{token()}"
    d.pyctl("create", "--name", c, "-v", f"{v}:/named", "-v", "/anon", "--mount", "type=volume,target=/anon2",
            "busybox", "true")
    ms = {m["Destination"]: m for m in mounts_of(d, c)}
    anons = [ms["/anon"]["Name"], ms["/anon2"]["Name"]]
    assert all(len(n) == 64 for n in anons)
    labels = json.loads(d.pyctl("volume", "inspect", anons[0]).stdout)[0]["Labels"]
    assert labels == {"com.docker.volume.anonymous": ""}
    d.pyctl("rm", "-v", c)
    left = d.pyctl("volume", "ls", "-q").stdout.split()
    assert v in left and not set(anons) & set(left)
    assert not any((d.root / "volumes" / n).exists() for n in anons)


def test_run_rm_removes_anonymous_volumes_and_image_volumes(d):
    before = set(d.pyctl("volume", "ls", "-q").stdout.split())
    c = f"c-{token()}"
    d.pyctl("create", "--name", c, "volimg", "true")
    m = mounts_of(d, c)
    assert [(x["Type"], x["Destination"], x["Mode"]) for x in m] == [("volume", "/etc", "")]
    assert (Path(m[0]["Source"]) / "passwd").exists() is False  # seeded at the first start
    d.pyctl("start", "-a", c)
    assert (Path(m[0]["Source"]) / "passwd").exists()
    d.pyctl("rm", c)  # without -v: the anonymous volume stays, as docker's
    assert m[0]["Name"] in d.pyctl("volume", "ls", "-q").stdout.split()
    d.pyctl("volume", "rm", m[0]["Name"])
    assert run(d, "volimg", "grep", "-c", "^root:", "/etc/passwd").stdout == "1\n"
    assert set(d.pyctl("volume", "ls", "-q").stdout.split()) == before


def test_volume_in_use_cannot_be_removed(d):
    v = f"v-{token()}"
    assert d.pyctl("volume", "create", v).stdout == f"{v}\n"
    c = f"c-{token()}"
    cid = d.pyctl("create", "--name", c, "-v", f"{v}:/d", "busybox", "true").stdout.strip()
    for args in (["volume", "rm", v], ["volume", "rm", "-f", v]):
        r = d.pyctl(*args, check=False)
        assert r.returncode == 1
        assert r.stderr == f"Error response from daemon: remove {v}: volume is in use - [{cid}]\n"
    d.pyctl("rm", c)
    assert d.pyctl("volume", "rm", v).stdout == f"{v}\n"
    r = d.pyctl("volume", "rm", v, check=False)
    assert r.stderr == f"Error response from daemon: get {v}: no such volume\n"
    assert d.pyctl("volume", "rm", "-f", v).returncode == 0


def test_volume_prune(d):
    t = token()
    used, unused = f"used-{t}", f"unused-{t}"
    d.pyctl("volume", "create", "--label", f"t={t}", used)
    d.pyctl("volume", "create", "--label", f"t={t}", unused)
    anon = d.pyctl("volume", "create", "--label", f"t={t}").stdout.strip()
    c = f"c-{token()}"
    d.pyctl("create", "--name", c, "-v", f"{used}:/d", "busybox", "true")
    out = d.pyctl("volume", "prune", "-f", "--filter", f"label=t={t}").stdout
    assert out == f"Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n"
    out = d.pyctl("volume", "prune", "-a", "--filter", f"label=t={t}", input="y\n").stdout
    assert "WARNING! This will remove all local volumes not used by at least one container." in out
    assert f"Deleted Volumes:\n{unused}\n" in out
    assert d.pyctl("volume", "ls", "-q", "-f", f"label=t={t}").stdout == f"{used}\n"
    table = d.pyctl("volume", "ls", "-f", f"label=t={t}").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"] and table[1].split() == ["local", used]
    assert d.pyctl("volume", "ls", "-q", "-f", f"label=t={t}", "-f", "dangling=true").stdout == ""


@pytest.mark.parametrize("args, msg", [
    (["-v", "a b:/x"], '"a b" includes invalid characters for a local volume name'),
    (["-v", "vol:rel"], "invalid volume specification: 'vol:rel'"),
    (["--mount", "type=volume"], 'invalid argument "type=volume" for "--mount" flag: target is required'),
    (["--tmpfs", "rel"], 'invalid argument "rel" for "--tmpfs" flag'),
    (["-v", "aa:/x", "-v", "bb:/x"], "Duplicate mount point: /x"),
])
def test_mount_errors_name_the_flag(d, args, msg):
    r = d.pyctl("create", *args, "busybox", "true", check=False)
    assert r.returncode == 125 and msg in r.stderr
