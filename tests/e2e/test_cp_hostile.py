"""`pyctl cp` against a hostile container: its NSS config and libraries, its symlinks.

The image ships an nsswitch.conf naming an NSS module of its own whose constructor leaves a
marker. Anything that looks a user or group name up in the container's files as root on the host
(docker's CVE-2019-14271) loads it; `cp` in and out must not.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from spec_fixtures import Layer, busybox_layer, directory, file, make_image, write_docker_archive

from tests.harness.pyruncd import Pyruncd

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the NSS module"),
]

NSS_SOURCE = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
    int fd = open(MARKER, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
}
int _nss_evil_getpwuid_r(void) { return 0; }
"""
NSSWITCH = b"passwd: evil files\ngroup: evil files\nshadow: evil files\nhosts: evil files\n"


def _nss_module(tmp: Path, marker: str) -> bytes:
    src = tmp / "nss_evil.c"
    src.write_text(NSS_SOURCE)
    out = tmp / "libnss_evil.so.2"
    subprocess.run(["gcc", "-shared", "-fPIC", f'-DMARKER="{marker}"', "-o", str(out), str(src)], check=True)
    return out.read_bytes()


def _lib_dirs() -> list[str]:
    arch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    return [d for d in (f"lib/{arch}" if arch else "", f"usr/lib/{arch}" if arch else "", "lib", "usr/lib") if d]


def _evil_entries(module: bytes) -> list:
    files = [file("etc/nsswitch.conf", NSSWITCH),
             # owned by numbers the container's passwd does not name
             file("home/owner/data.txt", b"owned\n", uid=1234, gid=5678)]
    files += [file(f"{d}/libnss_evil.so.2", module, 0o755) for d in _lib_dirs()]
    dirs = {"home/owner": directory("home/owner", uid=1234, gid=5678)}
    for f in files:
        parent = os.path.dirname(f.path)
        while parent:
            dirs.setdefault(parent, directory(parent))
            parent = os.path.dirname(parent)
    return sorted([*dirs.values(), *files], key=lambda e: e.path)


@pytest.fixture
def hostile(tmp_path):
    marker = f"/tmp/pyruncd-nss-{os.getpid()}-{tmp_path.name}"
    module = _nss_module(tmp_path, marker)
    evil = Layer.of(_evil_entries(module))
    tar = tmp_path / "evil.tar"
    write_docker_archive(str(tar), {"evil:latest": make_image([busybox_layer(), evil])})
    with Pyruncd() as d:
        d.pyctl("load", "-i", str(tar))
        try:
            yield d, marker, evil
        finally:
            Path(marker).unlink(missing_ok=True)
            ids = d.pyctl("ps", "-aq", "--no-trunc", check=False).stdout.split()
            if ids:
                d.pyctl("rm", "-f", *ids, check=False)


def test_the_nss_trap_is_armed(tmp_path):
    """The control: a chroot into the image's files that looks a name up does load the module."""
    marker = f"/tmp/pyruncd-nss-control-{os.getpid()}"
    module = _nss_module(tmp_path, marker)
    root = tmp_path / "root"
    for e in _evil_entries(module):
        p = root / e.path
        if e.type == "dir":
            p.mkdir(parents=True, exist_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(e.data)
    (root / "tmp").mkdir()
    subprocess.run([sys.executable, "-c", "import os, pwd, sys; os.chroot(sys.argv[1]);\n"
                    "try: pwd.getpwuid(4321)\nexcept KeyError: pass", str(root)], check=True)
    assert (root / marker.lstrip("/")).exists()


def _marked(d, cid: str, marker: str) -> list[str]:
    where = []
    if Path(marker).exists():
        where.append("host")
    if d.pyctl("exec", cid, "test", "-e", marker, check=False).returncode == 0:
        where.append("container")
    return where


def test_cp_in_and_out_never_loads_the_containers_nss(hostile, tmp_path):
    d, marker, _ = hostile
    cid = d.pyctl("run", "-d", "evil", "sleep", "1000").stdout.strip()
    src = tmp_path / "in.txt"
    src.write_text("from host\n")
    os.chown(src, 4242, 4343)  # owners with no name on the host either
    d.pyctl("cp", str(src), f"{cid}:/tmp/")
    d.pyctl("cp", str(tmp_path / "in.txt"), f"{cid}:/home/owner/renamed.txt")
    d.pyctl("cp", f"{cid}:/home/owner", str(tmp_path / "out"))
    d.pyctl("cp", f"{cid}:/etc/passwd", str(tmp_path / "passwd"))
    assert _marked(d, cid, marker) == []
    # owners travel as numbers both ways
    assert d.pyctl("exec", cid, "stat", "-c", "%u:%g", "/tmp/in.txt").stdout.strip() == "4242:4343"
    st = (tmp_path / "out" / "data.txt").stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert (tmp_path / "out" / "renamed.txt").read_text() == "from host\n"
    # a stopped container: its overlay mounted for the copy, the same helper
    d.pyctl("stop", "-t", "0", cid)
    d.pyctl("cp", str(src), f"{cid}:/stopped.txt")
    d.pyctl("cp", f"{cid}:/home", str(tmp_path / "home"))
    assert not Path(marker).exists()
    d.pyctl("start", cid)
    assert _marked(d, cid, marker) == []


def test_cp_follows_symlinks_only_inside_the_rootfs(hostile, tmp_path):
    d, _, _ = hostile
    secret = Path(f"/tmp/pyruncd-cp-secret-{os.getpid()}")
    secret.write_text("host secret\n")
    try:
        cid = d.pyctl("run", "-d", "evil", "sh", "-c",
                      f"ln -s /tmp /hosttmp; ln -s ../../../../../tmp /dotdot; ln -s {secret} /abs; "
                      "mkdir /real; echo in > /real/f; ln -s /real /inside; touch /ready; sleep 1000").stdout.strip()
        for _ in range(200):
            if d.pyctl("exec", cid, "test", "-e", "/ready", check=False).returncode == 0:
                break
        # out: intermediate symlinks resolve in the container; the last one is copied as a link
        for path in (f"/hosttmp/{secret.name}", f"/dotdot/{secret.name}"):
            r = d.pyctl("cp", f"{cid}:{path}", str(tmp_path / "x"), check=False)
            assert r.returncode == 1 and "Could not find the file" in r.stderr, r
        d.pyctl("cp", f"{cid}:/abs", str(tmp_path / "abs"))
        assert (tmp_path / "abs").is_symlink() and os.readlink(tmp_path / "abs") == str(secret)
        d.pyctl("cp", f"{cid}:/inside/f", str(tmp_path / "f"))
        assert (tmp_path / "f").read_text() == "in\n"
        # in: writes land in the container, never through a symlink onto the host
        (tmp_path / "payload").write_text("payload\n")
        d.pyctl("cp", str(tmp_path / "payload"), f"{cid}:/dotdot/")
        d.pyctl("cp", str(tmp_path / "payload"), f"{cid}:/abs")
        assert secret.read_text() == "host secret\n"
        assert not Path("/tmp/payload").exists()
        assert d.pyctl("exec", cid, "cat", "/tmp/payload").stdout == "payload\n"
        # a tar whose member would be written through a symlink is refused, in one line
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            link = tarfile.TarInfo("hosttmp")
            link.type, link.linkname = tarfile.SYMTYPE, "/"
            tf.addfile(link)
            f = tarfile.TarInfo("hosttmp/escaped")
            tf.addfile(f, io.BytesIO(b""))
            hard = tarfile.TarInfo("hard")
            hard.type, hard.linkname = tarfile.LNKTYPE, "not-in-the-archive"
            tf.addfile(hard)
        r = d.pyctl("cp", "-", f"{cid}:/real", input=buf.getvalue(), check=False)
        err = r.stderr.decode()
        assert r.returncode == 1 and "refusing 'hosttmp/escaped'" in err, r
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert not Path("/escaped").exists() and not Path("/tmp/escaped").exists()
    finally:
        secret.unlink(missing_ok=True)


def test_cp_a_hardlink_to_a_missing_member_is_one_line(hostile):
    import io
    import tarfile

    d, _, _ = hostile
    cid = d.pyctl("run", "-d", "evil", "sleep", "1000").stdout.strip()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        hard = tarfile.TarInfo("hard")
        hard.type, hard.linkname = tarfile.LNKTYPE, "not-in-the-archive"
        tf.addfile(hard)
    r = d.pyctl("cp", "-", f"{cid}:/tmp", input=buf.getvalue(), check=False)
    assert r.returncode == 1, r
    line, = r.stderr.decode().strip().splitlines()
    assert "hardlink 'hard' -> 'not-in-the-archive': target is not in the archive" in line
    assert "KeyError" not in line and "Traceback" not in line
