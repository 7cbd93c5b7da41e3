"""Who a container runs as: images without /etc/passwd (FROM scratch, distroless) and -u ranges."""

import os

import pytest
from spec_fixtures import Layer, busybox_entries, make_image, write_docker_archive

from tests.harness.pyruncd import Pyruncd

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")]


@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """A daemon with `scratch`: busybox without /etc/passwd nor /etc/group, and no USER."""
    entries = [e for e in busybox_entries() if e.path not in ("etc/passwd", "etc/group")]
    tar = tmp_path_factory.mktemp("img") / "scratch.tar"
    write_docker_archive(str(tar), {"scratch:latest": make_image([Layer.of(entries)])})
    with Pyruncd() as daemon:
        daemon.pyctl("load", "-i", str(tar))
        try:
            yield daemon
        finally:
            ids = daemon.pyctl("ps", "-aq", "--no-trunc", check=False).stdout.split()
            if ids:
                daemon.pyctl("rm", "-f", *ids, check=False)


def test_an_image_without_passwd_runs_as_root_and_numeric_users(d):
    ids = 'echo "$(id -u):$(id -g)"'
    assert d.pyctl("run", "--rm", "scratch", "sh", "-c", ids).stdout == "0:0\n"
    assert d.pyctl("run", "--rm", "-u", "1000:1001", "scratch", "sh", "-c", ids).stdout == "1000:1001\n"
    cid = d.pyctl("run", "-d", "scratch", "sleep", "1000").stdout.strip()
    assert d.pyctl("exec", "-u", "7", cid, "sh", "-c", ids).stdout == "7:0\n"
    r = d.pyctl("run", "--rm", "-u", "web", "scratch", "true", check=False)
    assert r.returncode == 125 and "unable to find user web: no matching entries in passwd file" in r.stderr, r


@pytest.mark.parametrize("user", ["4294967295", "-1", "0:4294967295", "2147483648"])
def test_ids_out_of_range_are_refused(d, user):
    before = d.pyctl("ps", "-aq").stdout
    for args in (["run", "--rm", "-u", user, "scratch", "true"], ["create", "-u", user, "scratch", "true"]):
        r = d.pyctl(*args, check=False)
        assert r.returncode == 125, r
        assert r.stderr.strip() == (f'invalid argument "{user}" for "-u, --user" flag: uids and gids must be in range'
                                    " 0-2147483647"), r
    cid = d.pyctl("run", "-d", "scratch", "sleep", "1000").stdout.strip()
    r = d.pyctl("exec", "-u", user, cid, "true", check=False)
    assert r.returncode == 125 and "uids and gids must be in range 0-2147483647" in r.stderr, r
    d.pyctl("rm", "-f", cid)
    assert d.pyctl("ps", "-aq").stdout == before
