"""pyctl run/create --group-add as docker 20.10: more groups by name (the container's /etc/group, read from its
layers, never the host's) or by number, after the user's own, each once; a name no group has fails the
start in runc's words. The same commands against dockerd with the same image."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.harness.build_compare import classic_build, context
from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.fixtures import FIXTURE_TAR

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
]

GROUPS = """\
FROM busybox
RUN echo 'audio:x:29:' >> /etc/group && echo 'staff:x:50:nobody' >> /etc/group && echo 'dup:x:29:' >> /etc/group
"""
CASES = [
    (("--group-add", "audio", "--group-add", "1234"), ("id",)),
    (("-u", "nobody", "--group-add", "audio"), ("id",)),
    (("--group-add", "2000", "--group-add", "2000", "--group-add", "29"), ("id",)),
    (("--group-add", "dup"), ("id",)),
]
REFUSED = [("--group-add", "nosuch"), ("--group-add", "daemon"), ("--group-add", "99999999999")]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def image(d, tmp_path_factory):
    d.pyctl("build", "-t", "groups:1", str(context(tmp_path_factory.mktemp("groups"), GROUPS)))
    return "groups:1"


def _ours(d, image: str, flags, cmd) -> subprocess.CompletedProcess:
    return d.pyctl("run", "--rm", "--network", "none", *flags, image, *cmd, check=False)


def test_group_add_by_name_and_number_after_the_users_own(d, image):
    outputs = [_ours(d, image, flags, cmd) for flags, cmd in CASES]
    assert [(r.returncode, r.stdout) for r in outputs] == [
        (0, "uid=0(root) gid=0(root) groups=0(root),29(audio),1234\n"),
        (0, "uid=65534(nobody) gid=65534(nobody) groups=29(audio),50(staff),65534(nobody)\n"),
        (0, "uid=0(root) gid=0(root) groups=0(root),29(audio),2000\n"),
        (0, "uid=0(root) gid=0(root) groups=0(root),29(audio)\n"),
    ]


def test_a_group_not_in_the_containers_file_fails_the_start_in_runcs_words(d, image):
    assert "daemon:" in Path("/etc/group").read_text()  # the host's group: never looked at
    for flags in REFUSED:
        r = _ours(d, image, flags, ("id",))
        name = flags[1]
        words = ("uids and gids must be in range 0-2147483647" if name.isdigit()
                 else f"Unable to find group {name}: no matching entries in group file")
        assert r.returncode == 125 and words in r.stderr, r.stderr
    assert d.pyctl("ps", "-aq").stdout == ""


def test_create_keeps_them_for_each_start_and_exec_with_a_user(d, image):
    cid = d.pyctl("create", "--group-add", "staff", "--group-add", "7", image, "sleep", "60").stdout.strip()
    try:
        d.pyctl("start", cid)
        assert d.pyctl("exec", cid, "id", "-G").stdout == "0 7 50\n"
        assert d.pyctl("exec", "-u", "nobody", cid, "id", "-G").stdout == "65534 7 50\n"
        assert json.loads(d.pyctl("inspect", cid).stdout)[0]["HostConfig"]["GroupAdd"] == ["staff", "7"]
        d.pyctl("restart", "-t", "0", cid)
        assert d.pyctl("exec", cid, "id", "-G").stdout == "0 7 50\n"
    finally:
        d.pyctl("rm", "-f", cid)


def test_compose_group_add(d, image, tmp_path):
    (tmp_path / "compose.yaml").write_text(f"""
services:
  app:
    image: {image}
    group_add: [audio, 1234]
    command: ["id", "-G"]
""")
    project = ("compose", "-f", str(tmp_path / "compose.yaml"), "-p", "groupadd")
    try:
        up = d.pyctl(*project, "up", "--abort-on-container-exit")
        assert "0 29 1234" in up.stdout, up.stdout + up.stderr
    finally:
        d.pyctl(*project, "down", check=False)

@pytest.mark.skipif(bool(dockerd_available()), reason=dockerd_available() or "ok")
def test_group_add_against_dockerd(d, image, tmp_path):
    with Dockerd() as docker:
        docker.load_image(FIXTURE_TAR)
        built = classic_build(docker, context(tmp_path, GROUPS), "-t", image)
        assert built.returncode == 0, built.stderr
        for flags, cmd in CASES:
            theirs = docker.docker("run", "--rm", "--network", "none", *flags, image, *cmd, check=False)
            ours = _ours(d, image, flags, cmd)
            assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout.decode()), flags
        for flags in REFUSED:
            theirs = docker.docker("run", "--rm", "--network", "none", *flags, image, "id", check=False)
            ours = _ours(d, image, flags, ("id",))
            their_error = next(line for line in theirs.stderr.decode().splitlines() if "Error response" in line)
            assert ours.returncode == theirs.returncode == 125
            assert their_error.split("Error response from daemon: ")[1].rstrip(".") in ours.stderr, (flags, their_error)
