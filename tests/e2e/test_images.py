"""pyctl -> pyruncd image commands end to end, with Debian's docker-registry, skopeo and podman."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from spec_fixtures import (
    Layer,
    busybox_image,
    busybox_layer,
    file,
    make_image,
    write_docker_archive,
    write_oci_layout,
)

from tests.harness import registry
from tests.harness.fixtures import busybox_tar
from tests.harness.pyruncd import VENV_BIN, Pyruncd
from tests.harness.registry import Registry

SKOPEO = shutil.which("skopeo")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="pyruncd keeps owners and whiteouts in snapshots: root only"),
]
needs_registry = pytest.mark.skipif(bool(registry.available()), reason=registry.available() or "ok")
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed")


@pytest.fixture
def d():
    with Pyruncd() as daemon:
        yield daemon


@pytest.fixture
def fixture_tar(tmp_path) -> Path:
    return busybox_tar(tmp_path)


def _skopeo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SKOPEO, *args], check=True, capture_output=True, text=True, timeout=120)


def test_daemon_socket_info_version_and_clean_stop():
    daemon = Pyruncd().start()
    try:
        assert stat.S_IMODE(daemon.socket.stat().st_mode) == 0o660
        info = daemon.pyctl("info").stdout
        assert " Images: 0" in info and f" Pyruncd Root Dir: {daemon.root}" in info
        assert json.loads(daemon.pyctl("info", "--format", "json").stdout)["storageDriver"] == "overlayfs"
        v = daemon.pyctl("version").stdout
        assert "Server: pyruncd" in v and "API version:      v1" in v
        logs = [json.loads(line) for line in daemon.log.read_text().splitlines()]
        assert logs[0]["msg"] == "pyruncd listening" and logs[0]["level"] == "info"
        assert daemon.stop(remove=False) == 0
        assert not daemon.socket.exists()
        r = daemon.pyctl("images", check=False)
        assert r.returncode == 1 and "Cannot connect to the pyruncd daemon" in r.stderr
    finally:
        daemon.stop()


def test_load_list_inspect_history_tag_rmi(d, fixture_tar):
    assert d.pyctl("load", "-i", str(fixture_tar)).stdout == "Loaded image: busybox:latest\n"
    lines = d.pyctl("images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:2] == ["busybox", "latest"]
    doc = json.loads(d.pyctl("image", "inspect", "busybox").stdout)[0]
    assert doc["Id"].startswith("sha256:") and doc["RepoTags"] == ["busybox:latest"]
    assert doc["RootFS"]["Layers"] and doc["Os"] == "linux"
    assert lines[1].split()[2] == doc["Id"][7:19]
    assert d.pyctl("inspect", "-f", "{{.Id}} {{.Os}}", "busybox").stdout == f"{doc['Id']} linux\n"
    row = json.loads(d.pyctl("images", "--format", "json").stdout.splitlines()[0])
    assert row["Repository"] == "busybox" and row["ID"] == doc["Id"][7:19]
    hist = d.pyctl("history", "busybox").stdout.splitlines()
    assert hist[0].split()[:2] == ["IMAGE", "CREATED"] and hist[1].startswith(doc["Id"][7:19])

    d.pyctl("tag", "busybox", "example.com/me/bb:1")
    assert d.pyctl("images", "-q").stdout == doc["Id"][7:19] + "\n"
    assert len(d.pyctl("images").stdout.splitlines()) == 3
    only = d.pyctl("image", "ls", "example.com/me/bb").stdout.splitlines()
    assert len(only) == 2 and only[1].split()[:2] == ["example.com/me/bb", "1"]
    assert d.pyctl("images", "nothere").stdout.split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    r = d.pyctl("rmi", doc["Id"][7:19], check=False)
    assert r.returncode == 1 and "must be forced" in r.stderr
    assert d.pyctl("rmi", "example.com/me/bb:1").stdout == "Untagged: example.com/me/bb:1\n"
    out = d.pyctl("rmi", "busybox").stdout
    assert out == f"Untagged: busybox:latest\nDeleted: {doc['Id']}\n"
    assert d.pyctl("images", "-q").stdout == ""
    assert [p for p in os.listdir(d.root / "snapshots") if p != "tmp"] == []
    assert os.listdir(d.root / "content" / "blobs" / "sha256") == []

    r = d.pyctl("rmi", "nothere", check=False)
    assert r.returncode == 1 and "No such image: nothere" in r.stderr
    r = d.pyctl("inspect", "nothere", check=False)
    assert r.returncode == 1 and "No such image: nothere" in r.stderr
    r = d.pyctl("tag", "busybox", "Bad:Ref", check=False)
    assert r.returncode == 1 and "No such image: busybox" in r.stderr
    r = d.pyctl("pull", "bad//ref", check=False)
    assert r.returncode == 1 and "invalid reference format" in r.stderr
    r = d.pyctl("pull", "127.0.0.1:1/nothing:here", check=False)
    assert r.returncode == 1 and "registry 127.0.0.1:1 unreachable" in r.stderr


def test_oci_layout_directory_loads_and_images_survive_a_restart(tmp_path):
    img = busybox_image()
    write_oci_layout(str(tmp_path / "named"), {"docker.io/library/named:1": img})
    write_oci_layout(str(tmp_path / "bare"), {"latest": img})
    daemon = Pyruncd().start()
    try:
        assert daemon.pyctl("load", "-i", str(tmp_path / "named")).stdout == "Loaded image: named:1\n"
        # a bare tag names no repository: the image loads by id, as docker does
        assert daemon.pyctl("load", "-i", str(tmp_path / "bare")).stdout == f"Loaded image ID: {img.config_digest}\n"
        assert daemon.stop(remove=False) == 0
        daemon.start()
        doc = json.loads(daemon.pyctl("inspect", "named:1").stdout)[0]
        assert doc["Id"] == img.config_digest
        assert doc["Descriptor"]["digest"] == img.manifest_digest
    finally:
        daemon.stop()


def test_images_sharing_layers_share_snapshots(d, tmp_path):
    base = busybox_layer()
    a = make_image([base, Layer.of([file("a", b"a")])])
    b = make_image([base, Layer.of([file("b", b"b")])])
    write_docker_archive(str(tmp_path / "two.tar"), {"a:1": a, "b:1": b})
    out = d.pyctl("load", "-i", str(tmp_path / "two.tar")).stdout
    assert sorted(out.splitlines()) == ["Loaded image: a:1", "Loaded image: b:1"]
    snaps = [p for p in os.listdir(d.root / "snapshots") if p != "tmp"]
    assert len(snaps) == 3
    busyboxes = [p for p in snaps if (d.root / "snapshots" / p / "fs" / "bin" / "busybox").exists()]
    assert len(busyboxes) == 1
    d.pyctl("rmi", "a:1")
    assert len([p for p in os.listdir(d.root / "snapshots") if p != "tmp"]) == 2
    r = d.pyctl("image", "prune", "-a", "-f")
    assert "Total reclaimed space:" in r.stdout
    assert d.pyctl("images", "-q").stdout == ""


def test_refuses_hostile_layer_and_bad_digest_without_recording(d, tmp_path):
    evil = make_image([busybox_layer(), Layer.of([file("../../escape", b"x")])])
    write_docker_archive(str(tmp_path / "evil.tar"), {"evil:latest": evil})
    r = d.pyctl("load", "-i", str(tmp_path / "evil.tar"), check=False)
    assert r.returncode == 1 and "path traversal" in r.stderr
    img = make_image([busybox_layer(), Layer.of([file("x", b"x" * 1000)])])
    write_oci_layout(str(tmp_path / "oci"), {"docker.io/library/bad:latest": img})
    blob = tmp_path / "oci/blobs/sha256" / img.layers[1].digest[7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    r = d.pyctl("load", "-i", str(tmp_path / "oci"), check=False)
    assert r.returncode == 1 and "content hashes to" in r.stderr
    assert d.pyctl("images", "-q").stdout == ""


@needs_registry
@needs_skopeo
def test_push_pull_round_trip_and_skopeo_interop(d, fixture_tar, tmp_path):
    with Registry() as reg:
        d.pyctl("load", "-i", str(fixture_tar))
        ref = f"{reg.host}/busybox:latest"
        d.pyctl("tag", "busybox", ref)
        out = d.pyctl("push", ref).stdout
        assert out.startswith(f"The push refers to repository [{reg.host}/busybox]")
        pushed = out.strip().splitlines()[-1].split()[2]
        before = json.loads(d.pyctl("inspect", ref).stdout)[0]
        assert before["RepoDigests"] == [f"{reg.host}/busybox@{pushed}"]
        # skopeo reads what we pushed, digest for digest
        remote = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{ref}").stdout)
        assert remote["Digest"] == pushed
        _skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{tmp_path / 'copy'}:latest")

        d.pyctl("rmi", ref, "busybox")
        out = d.pyctl("pull", ref).stdout
        assert f"Digest: {pushed}" in out and out.endswith(f"{ref}\n")
        assert "Pull complete" in out
        after = json.loads(d.pyctl("inspect", ref).stdout)[0]
        assert after["Id"] == before["Id"] and after["RepoDigests"] == before["RepoDigests"]
        # by digest: no tag is made, the repo digest names it
        d.pyctl("rmi", ref)
        by_digest = f"{reg.host}/busybox@{pushed}"
        assert d.pyctl("pull", by_digest).stdout.endswith(f"{by_digest}\n")
        assert json.loads(d.pyctl("inspect", by_digest).stdout)[0]["RepoTags"] == []

        # and we pull what skopeo pushed
        img = make_image([busybox_layer(), Layer.of([file("hello", b"from skopeo")], compression="zstd")])
        write_oci_layout(str(tmp_path / "oci"), {"latest": img})
        _skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest", f"docker://{reg.host}/sk:1")
        d.pyctl("pull", f"{reg.host}/sk:1")
        doc = json.loads(d.pyctl("inspect", f"{reg.host}/sk:1").stdout)[0]
        assert doc["Id"] == img.config_digest
        assert doc["RepoDigests"] == [f"{reg.host}/sk@{img.manifest_digest}"]


@needs_registry
@needs_skopeo
def test_index_with_two_platforms(d, tmp_path):
    with Registry() as reg:
        img = busybox_image()
        write_oci_layout(str(tmp_path / "oci"), {"latest": img}, platforms=["linux/amd64", "linux/arm64"])
        _skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest",
                f"docker://{reg.host}/multi:latest")
        d.pyctl("pull", "--platform", "linux/arm64", f"{reg.host}/multi:latest")
        assert json.loads(d.pyctl("inspect", f"{reg.host}/multi").stdout)[0]["Architecture"] == "arm64"
        r = d.pyctl("pull", "--platform", "linux/s390x", f"{reg.host}/multi:latest", check=False)
        assert r.returncode == 1 and "no matching manifest for linux/s390x" in r.stderr


@needs_registry
@needs_skopeo
def test_interrupted_pull_leaves_no_image_and_retry_completes(d, tmp_path):
    big = Layer.of([file("big", os.urandom(96 << 20))], compression="none")
    img = make_image([busybox_layer(), big])
    write_oci_layout(str(tmp_path / "oci"), {"latest": img})
    with Registry() as reg:
        ref = f"{reg.host}/big:1"
        _skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest", f"docker://{ref}")
        pull = subprocess.Popen([str(VENV_BIN / "pyctl"), "pull", ref],
                                env=d.env, stdout=subprocess.PIPE, text=True)
        try:
            line = pull.stdout.readline()
            assert "Pulling from" in line
            while "Pulling fs layer" not in line:
                line = pull.stdout.readline()
            reg.proc.send_signal(signal.SIGSTOP)  # the download stalls mid-way
            time.sleep(0.3)
            pull.kill()
        finally:
            pull.wait()
            reg.proc.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        assert d.pyctl("images", "-q").stdout == ""
        assert os.listdir(d.root / "content" / "ingest") == []
        # the daemon itself killed mid-pull: a restart sweeps what it left
        pull = subprocess.Popen([str(VENV_BIN / "pyctl"), "pull", ref], env=d.env, stdout=subprocess.PIPE, text=True)
        try:
            while "Pulling fs layer" not in pull.stdout.readline():
                pass
            reg.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            d.proc.kill()
            d.proc.wait()
        finally:
            reg.proc.send_signal(signal.SIGCONT)
            assert pull.wait(30) != 0
        d.start()
        assert d.pyctl("images", "-q").stdout == ""
        assert os.listdir(d.root / "content" / "ingest") == []
        assert os.listdir(d.root / "snapshots" / "tmp") == []
        assert "Status: Downloaded newer image" in d.pyctl("pull", ref).stdout
        assert json.loads(d.pyctl("inspect", ref).stdout)[0]["Id"] == img.config_digest


@needs_skopeo
def test_save_loads_with_skopeo_and_podman(d, fixture_tar, tmp_path):
    d.pyctl("load", "-i", str(fixture_tar))
    d.pyctl("tag", "busybox", "other:2")
    out = tmp_path / "saved.tar"
    d.pyctl("save", "-o", str(out), "busybox", "other:2")
    _skopeo("copy", f"docker-archive:{out}:busybox:latest", f"oci:{tmp_path / 'sk'}:latest")
    _skopeo("copy", f"docker-archive:{out}:other:2", f"oci:{tmp_path / 'sk'}:other")
    # and back into a fresh daemon, from a pipe
    with Pyruncd() as d2:
        loaded = d2.pyctl("load", input=out.read_bytes()).stdout.decode()
        assert sorted(loaded.splitlines()) == ["Loaded image: busybox:latest", "Loaded image: other:2"]
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed: skopeo half checked only")
    store = Path(tempfile.mkdtemp(prefix="pod-", dir="/tmp"))  # podman wants a runroot under 50 characters
    cmd = [podman, "--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "vfs",
           "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    try:
        r = subprocess.run([*cmd, "load", "-i", str(out)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        names = subprocess.run([*cmd, "images", "--format", "{{.Repository}}:{{.Tag}}"], capture_output=True,
                               text=True, timeout=60).stdout.split()
        # podman qualifies the short names of a docker-archive with localhost/, as for docker's own saves
        assert sorted(n.split("/")[-1] for n in names) == ["busybox:latest", "other:2"]
    finally:
        subprocess.run([*cmd, "system", "reset", "-f"], capture_output=True, timeout=60)
        shutil.rmtree(store, ignore_errors=True)


@pytest.mark.skipif(bool(registry.available(users=True)), reason=registry.available(users=True) or "ok")
def test_login_logout_with_htpasswd_registry(d, fixture_tar):
    with Registry(users={"alice": "s3cret"}) as reg:
        d.pyctl("load", "-i", str(fixture_tar))
        ref = f"{reg.host}/private/bb:1"
        d.pyctl("tag", "busybox", ref)
        r = d.pyctl("push", ref, check=False)
        assert r.returncode == 1 and r.stderr == "no basic auth credentials\n", r.stderr  # docker's words
        r = d.pyctl("login", "-u", "alice", "--password-stdin", reg.host, input="wrong\n", check=False)
        assert r.returncode == 1 and "authentication failed" in r.stderr
        r = d.pyctl("login", "-u", "alice", "--password-stdin", reg.host, input="s3cret\n")
        assert r.stdout == "Login Succeeded\n"
        cfg = Path(d.env["PYCTL_CONFIG"]) / "config.json"
        assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
        assert reg.host in json.loads(cfg.read_text())["auths"]
        d.pyctl("push", ref)
        d.pyctl("rmi", ref, "busybox")
        d.pyctl("pull", ref)
        assert d.pyctl("logout", reg.host).stdout == f"Removing login credentials for {reg.host}\n"
        assert reg.host not in json.loads(cfg.read_text())["auths"]
        r = d.pyctl("pull", f"{reg.host}/private/other:1", check=False)
        # docker asks with HEAD where pyruncd GETs: the rest is docker's line
        assert r.returncode == 1 and re.fullmatch(f'Error response from daemon: (Head|Get) "http://{reg.host}/v2/'
                                                  'private/other/manifests/1": no basic auth credentials\n',
                                                  r.stderr), r.stderr


@pytest.mark.skipif(bool(registry.available(token=True)), reason=registry.available(token=True) or "ok")
def test_login_push_pull_with_a_token_server(d, fixture_tar):
    with Registry(users={"bob": "t0ken"}, token=True) as reg:
        d.pyctl("load", "-i", str(fixture_tar))
        ref = f"{reg.host}/team/bb:1"
        d.pyctl("tag", "busybox", ref)
        r = d.pyctl("push", ref, check=False)  # an anonymous token grants nothing
        assert r.returncode == 1 and "authentication failed" in r.stderr
        r = d.pyctl("login", "-u", "bob", "--password-stdin", reg.host, input="wrong", check=False)
        assert r.returncode == 1 and "refused the credentials" in r.stderr
        assert d.pyctl("login", "-u", "bob", "--password-stdin", reg.host, input="t0ken").stdout == "Login Succeeded\n"
        d.pyctl("push", ref)
        d.pyctl("rmi", ref, "busybox")
        assert "Status: Downloaded newer image" in d.pyctl("pull", ref).stdout
        scopes = [s for req in reg.token.requests if req["user"] == "bob" for s in req["scope"]]
        assert "repository:team/bb:pull,push" in scopes and "repository:team/bb:pull" in scopes
