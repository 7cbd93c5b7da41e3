"""commit, diff, export and import end to end through pyctl (issue #15 item 5), with docker's outputs; the
diff of the same changes compared with dockerd's where it can run here."""

import io
import json
import os
import tarfile
import uuid

import pytest

from tests.harness.busybox_daemon import busybox_daemon, inspect
from tests.harness.dockerd import Dockerd, available
from tests.harness.fixtures import busybox_tar

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]

# deletes (a whole directory), an addition in a new directory, an in-place change
CHANGES = "echo hello > /hello.txt; rm -rf /usr; mkdir -p /tmp/x; echo x >> /etc/passwd; rm /bin/cat"
CHANGED = ["D /bin/cat", "C /etc", "C /etc/passwd", "A /hello.txt", "C /tmp", "A /tmp/x", "D /usr"]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


def name() -> str:
    return "t" + uuid.uuid4().hex[:10]


def lines(text: str) -> list[str]:
    return text.splitlines()


def test_diff_shows_nothing_for_a_fresh_container_and_docker_lines_after_changes(d):
    fresh, changed = name(), name()
    d.pyctl("run", "--name", fresh, "busybox", "true")
    assert d.pyctl("diff", fresh).stdout == ""  # /etc/hosts and the like are no change
    d.pyctl("run", "--name", changed, "busybox", "sh", "-c", CHANGES)
    # moby's order: the parent's line first, and /bin (its mtime changed) before the deletion in it
    assert lines(d.pyctl("diff", changed).stdout) == ["C /bin", *CHANGED]
    r = d.pyctl("diff", "nosuch", check=False)
    assert r.returncode == 1 and "No such container: nosuch" in r.stderr


def test_commit_makes_an_image_with_the_changes_config_and_history(d):
    c, image = name(), f"{name()}:v1"
    d.pyctl("run", "--name", c, "-e", "FOO=bar", "-w", "/tmp", "busybox", "sh", "-c", CHANGES)
    out = d.pyctl("commit", "-a", "Jane <j@x>", "-m", "made by hand", "-c", 'CMD ["cat2", "/hello.txt"]',
                  "-c", "ENV A=1", "-c", "EXPOSE 8080", "-c", "LABEL k=v", c, image).stdout
    assert out.startswith("sha256:") and len(out.strip()) == 71
    doc = inspect(d, image)
    assert doc["Id"] == out.strip()
    assert doc["Author"] == "Jane <j@x>" and doc["Comment"] == "made by hand"
    config = doc["Config"]
    assert config["Cmd"] == ["cat2", "/hello.txt"] and config["WorkingDir"] == "/tmp"
    assert "FOO=bar" in config["Env"] and "A=1" in config["Env"]
    assert not any(e.startswith("HOSTNAME=") for e in config["Env"])
    assert config["ExposedPorts"] == {"8080/tcp": {}} and config["Labels"] == {"k": "v"}
    assert len(doc["RootFS"]["Layers"]) == 2
    # the new image runs with the changes: no /usr, no cat, the new file
    run = d.pyctl("run", "--rm", image, "sh", "-c", "cat /hello.txt 2>&1; ls /usr 2>&1; ls /tmp").stdout
    assert "hello" in run and "No such file" in run and "x" in lines(run)
    history = lines(d.pyctl("history", "--no-trunc", image).stdout)
    assert history[1].split()[0] == out.strip() and "made by hand" in history[1]
    assert "sh -c " + CHANGES in history[1]
    d.pyctl("rmi", image)


def test_commit_without_changes_records_an_empty_layer(d):
    c, image = name(), f"{name()}:empty"
    d.pyctl("run", "--name", c, "busybox", "true")
    d.pyctl("commit", c, image)
    assert len(inspect(d, image)["RootFS"]["Layers"]) == 1
    top = lines(d.pyctl("history", image).stdout)[1]
    assert top.split()[-1] == "0B"
    d.pyctl("rmi", image)


def test_commit_pauses_a_running_container_and_leaves_it_running_and_export_reads_it(d):
    c = name()
    d.pyctl("run", "-d", "--name", c, "-v", "/data", "busybox", "sh", "-c",
            "echo v > /data/in-volume; echo hi > /running; sleep 1000")
    try:
        for pause in ("true", "false"):
            image = f"{name()}:live"
            d.pyctl("commit", f"--pause={pause}", c, image)
            assert inspect(d, c)["State"]["Status"] == "running"
            assert d.pyctl("run", "--rm", image, "cat", "/running").stdout == "hi\n"
            # docker's too: the volume's path, not its content, with the volume in the config
            assert inspect(d, image)["Config"]["Volumes"] == {"/data": {}}
            d.pyctl("rmi", image)
        with tarfile.open(fileobj=io.BytesIO(d.pyctl("export", c, input=b"").stdout)) as tf:
            assert tf.extractfile("running").read() == b"hi\n"
            assert "data" in tf.getnames() and "data/in-volume" not in tf.getnames()
            assert not any(n.startswith(("proc/", "sys/")) for n in tf.getnames())
    finally:
        d.pyctl("rm", "-f", c)


@pytest.mark.parametrize("change, message", [
    ("RUN echo hi", "run is not a valid change command"),
    ("FROM busybox", "from is not a valid change command"),
    ("EXPOSE http", "invalid containerPort: http"),
])
def test_commit_refuses_changes_docker_refuses(d, change, message):
    c = name()
    d.pyctl("run", "--name", c, "busybox", "true")
    before = d.pyctl("images", "-q").stdout
    r = d.pyctl("commit", "-c", change, c, "refused:1", check=False)
    assert r.returncode == 1 and message in r.stderr and r.stderr.startswith("Error response from daemon: ")
    assert d.pyctl("images", "-q").stdout == before


def test_export_then_import_round_trips(d, tmp_path):
    c, image = name(), f"{name()}:imported"
    d.pyctl("run", "--name", c, "busybox", "sh", "-c", CHANGES)
    out = tmp_path / "rootfs.tar"
    d.pyctl("export", "-o", str(out), c)
    with tarfile.open(out) as tf:
        names = tf.getnames()
    assert "hello.txt" in names and "bin/sh" in names and "etc/passwd" in names
    assert not any(n == "usr" or n.startswith("usr/") for n in names) and "bin/cat" not in names
    streamed = d.pyctl("export", c, input=b"").stdout  # to standard output: the same files
    with tarfile.open(fileobj=io.BytesIO(streamed)) as tf:
        assert tf.getnames() == names

    image_id = d.pyctl("import", "-m", "from a tar", "-c", 'CMD ["busybox", "cat", "/hello.txt"]', str(out), image).stdout.strip()
    assert image_id.startswith("sha256:")
    assert d.pyctl("run", "--rm", image).stdout == "hello\n"
    doc = inspect(d, image)
    assert doc["Comment"] == "from a tar" and len(doc["RootFS"]["Layers"]) == 1
    assert lines(d.pyctl("history", image).stdout)[1].split()[-3:] == ["from", "a", "tar"]

    from_stdin = d.pyctl("import", "-", f"{name()}:stdin", input=out.read_bytes()).stdout.decode().strip()
    assert inspect(d, from_stdin)["Comment"] == "Imported from -"
    # the same tar gives the same layer
    assert inspect(d, from_stdin)["RootFS"]["Layers"] == doc["RootFS"]["Layers"]
    d.pyctl("rmi", image, from_stdin)


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for info, data in members:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    return info


@pytest.mark.parametrize("tar, message", [
    (_tar((_member("../evil"), b"x")), "path traversal"),
    (_tar((_member("/abs"), b"x")), "absolute path"),
    (_tar((_member("l", tarfile.SYMTYPE, "/etc"), b""), (_member("l/passwd"), b"x")), "escapes the layer"),
    (_tar((_member("null", tarfile.CHRTYPE), b"")), "device node"),
    (b"not a tar at all" * 100, "cannot unpack"),
])
def test_import_refuses_hostile_tars_and_leaves_nothing(d, tar, message):
    images, snapshots = d.pyctl("images", "-q").stdout, sorted(os.listdir(d.root / "snapshots"))
    r = d.pyctl("import", "-", "hostile:1", input=tar, check=False)
    err = r.stderr.decode() if isinstance(r.stderr, bytes) else r.stderr
    assert r.returncode == 1 and message in err
    assert d.pyctl("images", "-q").stdout == images
    assert sorted(os.listdir(d.root / "snapshots")) == snapshots


def test_diff_matches_dockers(d, tmp_path):
    why = available()
    if why:
        pytest.skip(why)
    c = name()
    d.pyctl("run", "--name", c, "busybox", "sh", "-c", CHANGES)
    ours = d.pyctl("diff", c).stdout
    with Dockerd() as docker:
        docker.load_image(_busybox_archive(d))
        docker.docker("run", "--name", c, "busybox", "sh", "-c", CHANGES)
        theirs = docker.docker("diff", c).stdout
        committed = docker.docker("commit", "-c", "ENV A=1", c, "x:1").stdout.decode().strip()
        history = json.loads(docker.docker("inspect", committed).stdout)[0]
    # the same lines; docker's order is its native overlay diff's (lexical, ours) only where the kernel's
    # redirect_dir is off: with it on, dockerd compares mounted trees and walks Go maps, in no fixed order
    assert sorted(lines(ours)) == sorted(lines(theirs.decode()))
    assert lines(ours) == ["C /bin", *CHANGED]
    assert history["Config"]["Env"][-1] == "A=1"


def _busybox_archive(d) -> str:
    return str(busybox_tar(d.dir))
