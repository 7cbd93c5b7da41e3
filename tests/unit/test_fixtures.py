"""spec-fixtures: reproducible builds, formats real tools accept, and a rootfs that runs."""

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import uuid

import pytest
import spec_fixtures as sf

SKOPEO = shutil.which("skopeo")
RUNC = "/usr/sbin/runc"
needs_skopeo = pytest.mark.skipif(SKOPEO is None, reason="skopeo is not installed (apt-get install skopeo)")


def digests(root):
    """relative path -> sha256 of every regular file under root (or of root itself if a file)."""
    if os.path.isfile(root):
        return {"": hashlib.sha256(open(root, "rb").read()).hexdigest()}
    out = {}
    for d, _, files in os.walk(root):
        for name in files:
            p = os.path.join(d, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def tree(root):
    """Everything tar would record about a tree, for comparing two builds."""
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            st = os.lstat(p)
            link = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime, st.st_size, link)
    return out


def skopeo(*args):
    r = subprocess.run([SKOPEO, *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"skopeo {' '.join(args)}: {r.stderr}"
    return r.stdout


def blob(layout, digest):
    with open(os.path.join(layout, "blobs", "sha256", digest.split(":", 1)[1]), "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    base = tmp_path_factory.mktemp("fixtures")
    a, b = str(base / "a" / "out"), str(base / "b" / "out")
    assert sf.build(a) and sf.build(b)
    yield a, b
    shutil.rmtree(base)


@pytest.fixture
def out(builds):
    return builds[0]


def test_two_builds_are_identical(builds):
    a, b = builds
    for part in ("oci", "busybox.tar", "bundle/config.json"):
        assert digests(os.path.join(a, part)) == digests(os.path.join(b, part)), part
    assert tree(os.path.join(a, "bundle", "rootfs")) == tree(os.path.join(b, "bundle", "rootfs"))


def test_rebuild_skips_when_unchanged_and_force_rebuilds_the_same(out):
    before = digests(out)
    assert sf.build(out) is False
    assert sf.build(out, force=True) is True
    assert digests(out) == before
    assert not [n for n in os.listdir(os.path.dirname(out)) if ".tmp-" in n], "temp dir left behind"


def test_rebuild_after_damage(out):
    os.unlink(os.path.join(out, "busybox.tar"))
    assert sf.build(out) is True
    assert os.path.isfile(os.path.join(out, "busybox.tar"))


def test_rootfs(out):
    rootfs = os.path.join(out, "bundle", "rootfs")
    assert os.stat(os.path.join(rootfs, "bin", "busybox")).st_mode & 0o111
    for applet in sf.applets():
        path = os.path.join(rootfs, applet)
        if applet != "bin/busybox":
            assert os.path.islink(path), applet
            assert os.path.realpath(path) == os.path.realpath(os.path.join(rootfs, "bin", "busybox")), applet
    with open(os.path.join(rootfs, "etc", "passwd")) as f:
        users = {line.split(":")[0]: line.split(":")[2:4] for line in f}
    assert users == {"root": ["0", "0"], "nobody": ["65534", "65534"]}
    with open(os.path.join(rootfs, "etc", "group")) as f:
        assert {line.split(":")[0]: line.split(":")[2] for line in f} == {"root": "0", "nobody": "65534"}
    for d in ("dev", "proc", "sys", "root", "etc", "var"):
        assert os.path.isdir(os.path.join(rootfs, d)), d
    assert stat.S_IMODE(os.stat(os.path.join(rootfs, "tmp")).st_mode) == 0o1777
    assert not os.path.exists(os.path.join(rootfs, "etc", "hostname"))
    for path, (_, uid, gid, mtime, _, _) in tree(rootfs).items():
        assert (uid, gid, mtime) == (0, 0, sf.EPOCH), path


def test_bundle_configs(out):
    from pyrunc.default_spec import default_spec

    with open(os.path.join(out, "bundle", "config.json")) as f:
        spec = json.load(f)
    want = default_spec()
    want["process"]["terminal"] = False
    assert spec == want and spec["root"]["path"] == "rootfs"
    with open(os.path.join(out, "bundle-echo", "config.json")) as f:
        echo = json.load(f)
    assert echo["root"]["path"] == os.path.join(out, "bundle", "rootfs")
    assert echo["process"]["args"] == ["echo", sf.GREETING]


def test_oci_layout(out):
    layout = os.path.join(out, "oci")
    with open(os.path.join(layout, "oci-layout")) as f:
        assert json.load(f) == {"imageLayoutVersion": "1.0.0"}
    for name in os.listdir(os.path.join(layout, "blobs", "sha256")):
        assert hashlib.sha256(blob(layout, "sha256:" + name)).hexdigest() == name
    with open(os.path.join(layout, "index.json")) as f:
        (desc,) = json.load(f)["manifests"]
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == "latest"
    manifest = json.loads(blob(layout, desc["digest"]))
    assert manifest["mediaType"] == desc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    gz = blob(layout, layer["digest"])
    assert gz[3] & 0x08 == 0 and gz[4:8] == b"\0\0\0\0", "gzip header has a file name or an mtime"
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    assert "linux/" + config["architecture"] == sf.host_platform() and config["os"] == "linux"
    assert config["config"]["Cmd"] == ["sh"] and config["config"]["Env"][0].startswith("PATH=")
    assert config["rootfs"] == {"type": "layers", "diff_ids": [sf.sha256(gzip.decompress(gz))]}
    assert len(config["history"]) == 1
    names = tarfile.open(fileobj=io.BytesIO(gzip.decompress(gz))).getnames()
    assert names == sorted(names) and "bin/busybox" in names


def test_docker_archive(out):
    with tarfile.open(os.path.join(out, "busybox.tar")) as tar:
        assert tar.getnames() == sorted(tar.getnames())
        (entry,) = json.load(tar.extractfile("manifest.json"))
        assert entry["RepoTags"] == ["busybox:latest"]
        config = json.load(tar.extractfile(entry["Config"]))
        (layer_path,) = entry["Layers"]
        layer_dir = os.path.dirname(layer_path)
        assert json.load(tar.extractfile("repositories")) == {"busybox": {"latest": layer_dir}}
        assert tar.extractfile(f"{layer_dir}/VERSION").read() == b"1.0"
        assert json.load(tar.extractfile(f"{layer_dir}/json"))["id"] == layer_dir
        assert config["rootfs"]["diff_ids"] == [sf.sha256(tar.extractfile(layer_path).read())]
        assert {(m.uid, m.gid, m.mtime) for m in tar.getmembers()} == {(0, 0, sf.EPOCH)}


@needs_skopeo
def test_skopeo_reads_both_and_copies(out, tmp_path):
    oci = json.loads(skopeo("inspect", f"oci:{out}/oci:latest"))
    archive = json.loads(skopeo("inspect", f"docker-archive:{out}/busybox.tar"))
    assert oci["Architecture"] == archive["Architecture"] == sf.host_platform().split("/")[1]
    oci_config = json.loads(skopeo("inspect", "--config", f"oci:{out}/oci:latest"))
    archive_config = json.loads(skopeo("inspect", "--config", f"docker-archive:{out}/busybox.tar"))
    assert oci_config == archive_config
    for name, src in (("from-oci", f"oci:{out}/oci:latest"), ("from-archive", f"docker-archive:{out}/busybox.tar")):
        skopeo("copy", "-q", src, f"dir:{tmp_path / name}")
        with open(tmp_path / name / "manifest.json") as f:
            manifest = json.load(f)
        for layer in manifest["layers"]:
            assert (tmp_path / name / layer["digest"].split(":", 1)[1]).is_file()


@needs_skopeo
def test_two_platform_index(tmp_path):
    image = sf.busybox_image()
    layout = str(tmp_path / "oci")
    refs = sf.write_oci_layout(layout, {"multi": image,
                               "mixed": [image, image.for_platform("linux/arm64/v8")]})
    sf.write_oci_layout(str(tmp_path / "oci2"), {"multi": image}, platforms=["linux/amd64", "linux/arm64"])
    raw = json.loads(skopeo("inspect", "--raw", f"oci:{tmp_path}/oci2:multi"))
    assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
    assert [m["platform"]["architecture"] for m in raw["manifests"]] == ["amd64", "arm64"]
    for arch in ("amd64", "arm64"):
        got = json.loads(skopeo("--override-arch", arch, "inspect", f"oci:{tmp_path}/oci2:multi"))
        assert got["Architecture"] == arch
    got = json.loads(skopeo("--override-arch", "arm64", "--override-variant", "v8", "inspect",
                            f"oci:{layout}:mixed"))
    assert got["Architecture"] == "arm64"
    assert refs["multi"] == image.manifest_digest


@needs_skopeo
def test_docker_archive_with_several_images(tmp_path):
    base = sf.busybox_layer()
    extra = sf.Layer.of([sf.directory("srv"), sf.file("srv/hello", b"hi\n")], created_by="extra")
    one, two = sf.busybox_image(), sf.make_image([base, extra], config={"Cmd": ["cat", "/srv/hello"]})
    path = str(tmp_path / "many.tar")
    sf.write_docker_archive(path, {"busybox:latest": one, "busybox:1": one, "example.com/app/two:v2": two})
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert [e["RepoTags"] for e in manifest] == [["busybox:latest", "busybox:1"], ["example.com/app/two:v2"]]
    assert manifest[0]["Layers"][0] == manifest[1]["Layers"][0], "the shared base layer is stored once"
    got = json.loads(skopeo("inspect", "--config", f"docker-archive:{path}:example.com/app/two:v2"))
    assert got["config"]["Cmd"] == ["cat", "/srv/hello"] and len(got["rootfs"]["diff_ids"]) == 2
    got = json.loads(skopeo("inspect", f"docker-archive:{path}:busybox:1"))
    assert len(got["Layers"]) == 1


def test_hostile_layer_is_written_verbatim():
    entries = [
        sf.file("../escape", b"x"),
        sf.file("/abs/file", b"y", mode=0o4755, uid=1000, gid=1000),
        sf.symlink("etc/evil", "../../../../etc"),
        sf.hardlink("etc/shadow-link", "/etc/shadow"),
        sf.device("dev/sda", "block", 8, 0),
        sf.device("dev/null", "char", 1, 3),
        sf.fifo("run/pipe"),
        sf.whiteout("usr/bin/wget"),
        sf.opaque("var/"),
        sf.file("a/" * 80 + "long", b"z"),
    ]
    data = sf.make_layer(entries)
    assert sf.make_layer(entries) == data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        got = {m.name: m for m in tar.getmembers()}
    assert list(got) == [e.path for e in entries[:8]] + ["var/.wh..wh..opq", "a/" * 80 + "long"]
    assert got["../escape"].isfile() and got["/abs/file"].mode == 0o4755 and got["/abs/file"].uid == 1000
    assert got["etc/evil"].issym() and got["etc/evil"].linkname == "../../../../etc"
    assert got["etc/shadow-link"].islnk() and got["etc/shadow-link"].linkname == "/etc/shadow"
    assert got["dev/sda"].isblk() and (got["dev/sda"].devmajor, got["dev/sda"].devminor) == (8, 0)
    assert got["dev/null"].ischr() and got["run/pipe"].isfifo()
    assert "usr/bin/.wh.wget" in got


def test_compression_is_reproducible():
    data = sf.make_layer([sf.file("f", b"data" * 1000)])
    for kind in ("gzip", "zstd", "none"):
        a, b = sf.Layer(data, compression=kind), sf.Layer(data, compression=kind)
        assert a.digest == b.digest and a.diff_id == sf.sha256(data), kind
    assert sf.Layer(data, compression="zstd").media_type.endswith("+zstd")
    with pytest.raises(ValueError, match="compression"):
        sf.compress(data, "lz4")


def test_big_image_is_big_seeded_and_layered():
    small = [sf.big_image(size_mb=4, layers=2, seed=7) for _ in range(2)]
    assert small[0].manifest_digest == small[1].manifest_digest
    assert sf.big_image(size_mb=4, layers=2, seed=8).manifest_digest != small[0].manifest_digest
    big = sf.big_image()
    assert len(big.layers) >= 4
    assert sum(len(layer.tar) for layer in big.layers) >= 200 << 20


@pytest.mark.skipif(not os.path.exists(RUNC), reason=f"{RUNC} is missing (apt-get install runc)")
@pytest.mark.skipif(os.geteuid() != 0, reason="runc run needs root")
def test_runc_runs_the_echo_bundle(out, tmp_path):
    root, cid = str(tmp_path / "runc-root"), f"fixtures-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        r = subprocess.run([RUNC, "--root", root, "run", "--bundle", os.path.join(out, "bundle-echo"), cid],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        assert r.stdout == sf.GREETING + "\n"
    finally:
        subprocess.run([RUNC, "--root", root, "delete", "--force", cid], capture_output=True)
