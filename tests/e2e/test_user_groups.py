"""-u and USER: the uid, gid and supplementary groups a container's process gets, as docker 20.10's.

The table was taken from Debian's dockerd 20.10.24 (over runc) with the same image; the last test runs
it again against a private dockerd when one can run here, and compares both engines' output directly.
"""

import os

import pytest
from spec_fixtures import Layer, busybox_entries, make_image, write_docker_archive
from spec_fixtures.layer import file

from tests.harness import leaks
from tests.harness.dockerd import Dockerd, available
from tests.harness.pyruncd import Pyruncd

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
web:x:33:33::/:/bin/sh
multi:x:1000:1000::/:/bin/sh
"""
# multi is listed in its own primary group, and twice under gid 50: the process has each gid once
GROUP = b"""root:x:0:root
nobody:x:65534:
nogroup:x:65533:
web:x:33:
multi:x:1000:multi
extra:x:50:web,multi
audio:x:29:multi,root
other:x:60:
dup:x:50:multi
"""
ID = ["sh", "-c", "id; grep Groups /proc/self/status"]  # the kernel ends the list with a space
MULTI = "uid=1000(multi) gid=1000(multi) groups=29(audio),50(extra),1000(multi)\nGroups:\t29 50 1000 \n"
ROOT = "uid=0(root) gid=0(root) groups=0(root),29(audio)\nGroups:\t0 29 \n"
# -u (none for "") -> `id` and the kernel's list, in the image with PASSWD and GROUP
TABLE = {
    "": ROOT,
    "0": ROOT,
    "root": ROOT,
    "1234": "uid=1234 gid=0(root) groups=0(root)\nGroups:\t0 \n",
    "1234:5678": "uid=1234 gid=5678 groups=5678\nGroups:\t5678 \n",
    "nobody": "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\nGroups:\t65534 \n",
    "65534": "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\nGroups:\t65534 \n",
    "nobody:nogroup": "uid=65534(nobody) gid=65533(nogroup) groups=65533(nogroup)\nGroups:\t65533 \n",
    "web": "uid=33(web) gid=33(web) groups=33(web),50(extra)\nGroups:\t33 50 \n",
    "multi": MULTI,
    "1000": MULTI,
    "multi:other": "uid=1000(multi) gid=60(other) groups=60(other)\nGroups:\t60 \n",
    "multi:60": "uid=1000(multi) gid=60(other) groups=60(other)\nGroups:\t60 \n",
    "multi:1000": "uid=1000(multi) gid=1000(multi) groups=1000(multi)\nGroups:\t1000 \n",
    "0:0": "uid=0(root) gid=0(root) groups=0(root)\nGroups:\t0 \n",
    "web:50": "uid=33(web) gid=50(extra) groups=50(extra)\nGroups:\t50 \n",
    "1234:extra": "uid=1234 gid=50(extra) groups=50(extra)\nGroups:\t50 \n",
}
# USER in a Dockerfile: RUN steps and the image's containers
DOCKERFILE = "FROM groups\nUSER multi\nRUN id > /tmp/run-multi\nUSER 1234:5678\nRUN id > /tmp/run-1234\nCMD cat /tmp/run-*; id\n"
BUILT = ("uid=1234 gid=5678 groups=5678\n" + MULTI.splitlines()[0] + "\nuid=1234 gid=5678 groups=5678\n")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    entries = [e for e in busybox_entries() if e.path not in ("etc/passwd", "etc/group")]
    entries += [file("etc/passwd", PASSWD), file("etc/group", GROUP)]
    tar = tmp_path_factory.mktemp("img") / "groups.tar"
    write_docker_archive(str(tar), {"groups:latest": make_image([Layer.of(entries)])})
    return tar


@pytest.fixture(scope="module")
def d(image):
    with Pyruncd() as daemon:
        daemon.pyctl("load", "-i", str(image))
        cid = daemon.pyctl("run", "-d", "-u", "web", "groups", "sleep", "1000").stdout.strip()
        daemon.running = cid
        try:
            yield daemon
        finally:
            ids = daemon.pyctl("ps", "-aq", "--no-trunc", check=False).stdout.split()
            if ids:
                daemon.pyctl("rm", "-f", *ids, check=False)
            daemon.pyctl("rmi", "-f", "groups-built", check=False)


def _run(d, user: str) -> str:
    return d.pyctl("run", "--rm", *(["-u", user] if user else []), "groups", *ID).stdout


def _exec(d, user: str) -> str:
    return d.pyctl("exec", *(["-u", user] if user else []), d.running, *ID).stdout


@pytest.mark.parametrize("user", list(TABLE))
def test_run_and_exec_get_dockers_groups(d, user):
    assert _run(d, user) == TABLE[user]
    # exec without -u is the container's user (web), resolved when it started
    assert _exec(d, user) == TABLE[user or "web"]


def test_dockerfile_user_in_run_steps_and_the_image(d):
    d.pyctl("build", "-q", "-t", "groups-built", "-", input=DOCKERFILE)
    assert d.pyctl("run", "--rm", "groups-built").stdout == BUILT


@pytest.mark.engines
@pytest.mark.skipif(bool(available()), reason=available() or "dockerd available")
def test_the_table_is_dockerds(d, image):
    with Dockerd() as docker:
        docker.env["DOCKER_BUILDKIT"] = "0"
        docker.load_image(image)
        for user in TABLE:
            got = docker.docker("run", "--rm", "--network", "none", *(["-u", user] if user else []), "groups", *ID)
            assert got.stdout.decode() == TABLE[user] == _run(d, user), user
        docker.docker("build", "-q", "-t", "groups-built", "-", input=DOCKERFILE.encode(), timeout=120)
        got = docker.docker("run", "--rm", "--network", "none", "groups-built")
        assert got.stdout.decode() == BUILT
    left = leaks.leaks(docker.token, docker.dir)
    assert not left, "\n".join(left)
