"""Hostile and broken images at load and pull: refused in one line, and nothing of them left behind."""

import hashlib
import os
import signal
import subprocess
import tarfile
import time

import pytest
from spec_fixtures import (
    Layer,
    busybox_image,
    busybox_layer,
    directory,
    file,
    hardlink,
    make_image,
    write_docker_archive,
    write_oci_layout,
)

from tests.harness import registry
from tests.harness.pyruncd import VENV_BIN, Pyruncd
from tests.harness.registry import Registry

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="pyruncd keeps owners and whiteouts: root only")]
needs_registry = pytest.mark.skipif(bool(registry.available()), reason=registry.available() or "ok")


@pytest.fixture
def d():
    with Pyruncd() as daemon:
        yield daemon


def _load(d, tmp_path, image, name="bad.tar"):
    tar = tmp_path / name
    write_docker_archive(str(tar), {"bad:latest": image})
    return d.pyctl("load", "-i", str(tar), check=False)


def _one_line(r) -> str:
    assert r.returncode != 0, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for word in ("Traceback", "Error:", "KeyError", "Errno", "/tmp/pyruncd-", "snapshots/", "content/"):
        assert word not in lines[0].replace("Error response from daemon:", ""), lines[0]
    return lines[0]


def _leftovers(d) -> list[str]:
    """Blobs, snapshot rows or dirs, ingest and spool files: everything a failed operation may leave."""
    out = [f"blob {p.name}" for p in (d.root / "content" / "blobs" / "sha256").iterdir()]
    out += [f"ingest {p.name}" for p in (d.root / "content" / "ingest").iterdir()]
    out += [f"snapshot {p.name}" for p in (d.root / "snapshots").iterdir() if p.name != "tmp"]
    out += [f"snapshot tmp {p.name}" for p in (d.root / "snapshots" / "tmp").iterdir()]
    out += [f"spool {p.name}" for p in (d.root / "tmp").iterdir()]
    return out


BAD_CONFIGS = [
    ({"Cmd": 5}, "image config.config.Cmd: want a list of strings, not the number 5"),
    ({"Env": "PATH=/bin"}, "image config.config.Env: want a list of strings, not a string"),
    ({"User": ["root"]}, "image config.config.User: want a string, not a list"),
    ({"Entrypoint": ["sh", 1]}, "image config.config.Entrypoint[1]: want a string, not the number 1"),
    ({"Labels": {"a": True}}, "image config.config.Labels['a']: want a string, not a boolean"),
    ({"ExposedPorts": ["80/tcp"]}, "image config.config.ExposedPorts: want an object, not a list"),
]


@pytest.mark.parametrize("config, message", BAD_CONFIGS)
def test_config_fields_of_the_wrong_type_are_refused_at_load(d, tmp_path, config, message):
    line = _one_line(_load(d, tmp_path, make_image([busybox_layer()], config=config)))
    assert line.endswith(message), line
    assert d.pyctl("images", "-q").stdout == ""
    assert _leftovers(d) == []


def test_more_than_125_layers_is_max_depth_exceeded(d, tmp_path):
    layers = [busybox_layer()] + [Layer.of([file(f"l{i}", b"x")]) for i in range(125)]
    line = _one_line(_load(d, tmp_path, make_image(layers)))
    assert line.endswith("max depth exceeded"), line
    assert _leftovers(d) == []


@pytest.mark.parametrize("name", [".wh.", ".wh..", ".wh..."])
def test_whiteouts_naming_the_directory_or_its_parent_are_refused_before_removing(d, tmp_path, name):
    # the second layer's refused whiteout comes after the first layer was unpacked: both are collected
    evil = Layer.of([directory("a"), file("a/keep", b"k"), file(f"a/{name}")])
    line = _one_line(_load(d, tmp_path, make_image([busybox_layer(), evil])))
    assert f"refusing 'a/{name}': invalid whiteout name" in line, line
    assert d.pyctl("images", "-q").stdout == ""
    assert _leftovers(d) == []


def test_a_hardlink_to_a_missing_member_is_one_line(d, tmp_path):
    layer = Layer.of([hardlink("bin/sh2", "bin/not-there")])
    line = _one_line(_load(d, tmp_path, make_image([busybox_layer(), layer])))
    assert "refusing hardlink 'bin/sh2' -> 'bin/not-there': target is not in the layer" in line, line
    # and in the archive itself: manifest.json a link to nothing
    buf = tmp_path / "linked.tar"
    with tarfile.open(buf, "w") as tf:
        info = tarfile.TarInfo("manifest.json")
        info.type, info.linkname = tarfile.LNKTYPE, "elsewhere.json"
        tf.addfile(info)
    line = _one_line(d.pyctl("load", "-i", str(buf), check=False))
    assert "'manifest.json' links to 'elsewhere.json', which is not in the archive" in line, line
    assert _leftovers(d) == []


def test_a_name_too_long_gives_no_internal_path(d, tmp_path):
    layer = Layer.of([file("a" * 300, b"x")])
    line = _one_line(_load(d, tmp_path, make_image([busybox_layer(), layer])))
    assert line.endswith(f"cannot unpack '{'a' * 300}': File name too long"), line
    assert _leftovers(d) == []


def test_garbage_of_a_crash_is_collected_at_start(d, tmp_path):
    """Unrecorded snapshot dirs (a crash between rename and commit) and unreferenced blobs."""
    d.stop(remove=False)
    (d.root / "snapshots" / "7" / "fs").mkdir(parents=True)
    blob = b"orphan"
    (d.root / "content" / "blobs" / "sha256" / hashlib.sha256(blob).hexdigest()).write_bytes(blob)
    d.start()
    assert _leftovers(d) == []
    assert _load(d, tmp_path, busybox_image(), "good.tar").returncode == 0  # the next snapshot number works


def _pull_until_layers(d, ref: str) -> subprocess.Popen:
    pull = subprocess.Popen([str(VENV_BIN / "pyctl"), "pull", ref], env=d.env, stdout=subprocess.PIPE, text=True)
    line = pull.stdout.readline()
    while line and "Pulling fs layer" not in line:
        line = pull.stdout.readline()
    assert line, "the pull ended before its layers"
    return pull


@needs_registry
def test_failed_and_killed_pulls_and_loads_leave_nothing_and_spare_a_pull_in_progress(d, tmp_path):
    big = Layer.of([file("big", os.urandom(32 << 20))], compression="none")
    write_oci_layout(str(tmp_path / "oci"), {"latest": make_image([busybox_layer(), big])})
    with Registry() as reg:
        ref = f"{reg.host}/big:1"
        subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest",
                        f"docker://{ref}"], check=True, capture_output=True, timeout=120)
        # a pull stalled mid-way holds its blobs while a refused load collects its own garbage
        pull = _pull_until_layers(d, ref)
        try:
            reg.proc.send_signal(signal.SIGSTOP)
            held = set(_leftovers(d))
            assert any(x.startswith("blob") for x in held), held
            evil = Layer.of([directory("a"), file("a/.wh..")])
            _one_line(_load(d, tmp_path, make_image([busybox_layer(), evil])))
            assert held <= set(_leftovers(d))
        finally:
            reg.proc.send_signal(signal.SIGCONT)
        assert pull.wait(60) == 0
        assert "Status: Downloaded newer image" in pull.stdout.read()
        d.pyctl("rmi", ref)
        assert _leftovers(d) == []
        # the daemon SIGKILLed mid-pull: the next start collects what the pull had fetched
        pull = _pull_until_layers(d, ref)
        try:
            reg.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            assert any(x.startswith("blob") for x in _leftovers(d))
            d.proc.kill()
            d.proc.wait()
        finally:
            reg.proc.send_signal(signal.SIGCONT)
            assert pull.wait(30) != 0
        d.start()
        assert d.pyctl("images", "-q").stdout == ""
        assert _leftovers(d) == []
        assert "Status: Downloaded newer image" in d.pyctl("pull", ref).stdout


def test_an_image_of_125_layers_runs_seeds_its_volume_and_copies_out(d, tmp_path):
    """125 absolute lowerdirs overflow mount(2)'s one page of options: the shim and the daemon mount from
    the snapshots' parent with relative lowerdirs, as containerd does."""
    layers = [busybox_layer()] + [Layer.of([file(f"l{i}", f"{i}\n".encode())]) for i in range(123)]
    layers.append(Layer.of([directory("data"), file("data/seed", b"seed\n")]))
    image = make_image(layers, config={"Env": ["PATH=/bin"], "Cmd": ["sh"], "Volumes": {"/data": {}}})
    assert _load(d, tmp_path, image, "deep.tar").returncode == 0
    r = d.pyctl("run", "--rm", "bad:latest", "cat", "/l0", "/l122", "/data/seed", check=False)
    assert (r.returncode, r.stdout) == (0, "0\n122\nseed\n"), r.stderr
    d.pyctl("create", "--name", "deep", "bad:latest", "true")
    d.pyctl("cp", "deep:/l7", str(tmp_path / "l7"))
    assert (tmp_path / "l7").read_text() == "7\n"
    d.pyctl("rm", "deep")
