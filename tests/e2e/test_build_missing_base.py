"""A base image that is neither here nor pullable: pyctl build ends as docker's classic builder does (dockerd
20.10), after its FROM step, with the pull's error in docker's words and exit status 1: a registry without
the repository ("manifest for X not found: manifest unknown"), one whose token grants nothing ("pull access
denied for X, repository does not exist or may require 'docker login'"), and a plain name whose registry
cannot be reached (here, offline, Go's DNS words; online, Docker Hub's denial): compared line by line."""

import os
from pathlib import Path

import pytest

from tests.harness import registry
from tests.harness.build_compare import classic_build, context
from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.registry import Registry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
    pytest.mark.skipif(bool(registry.available(token=True)), reason=registry.available(token=True) or "ok"),
]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def registries():
    with Registry() as plain, Registry(users={"bob": "t0ken"}, token=True) as token:
        yield plain, token


def _failed_build(d, path: Path):
    r = d.pyctl("build", "-t", "never:1", str(path), check=False, timeout=120)
    assert d.pyctl("images", "-q", "never").stdout == "" and d.pyctl("ps", "-aq").stdout == ""
    assert list((d.root / "tmp").iterdir()) == [], "the build left scratch files"
    return r


def test_a_base_no_registry_has_fails_in_dockers_words(d, registries, tmp_path):
    plain, token = registries
    cases = {
        f"{plain.host}/nothere": f"manifest for {plain.host}/nothere:latest not found: manifest unknown: manifest unknown",
        f"{token.host}/team/nothere:v1": f"pull access denied for {token.host}/team/nothere, repository does not "
                                         "exist or may require 'docker login': denied: requested access to the "
                                         "resource is denied",
    }
    for name, words in cases.items():
        r = _failed_build(d, context(tmp_path / name.replace("/", "_"), f"FROM {name}\nRUN true\n"))
        assert (r.returncode, r.stderr) == (1, words + "\n")
        assert r.stdout == f"Step 1/2 : FROM {name}\n"


@pytest.mark.skipif(bool(dockerd_available()), reason=dockerd_available() or "ok")
def test_missing_bases_against_dockerds_classic_builder(d, registries, tmp_path):
    plain, token = registries
    names = (f"{plain.host}/nothere:latest", f"{token.host}/team/nothere", "pyrunc-nothere-anywhere",
             "pyrunc-nothere-anywhere:v1")
    with Dockerd() as docker:
        for name in names:
            path = context(tmp_path / name.replace("/", "_").replace(":", "_"), f"FROM {name}\n")
            theirs = classic_build(docker, path)
            ours = _failed_build(d, path)
            assert theirs.returncode == ours.returncode == 1
            assert ours.stderr.splitlines() == theirs.stderr.splitlines()[-1:], name
            # docker's stdout begins with the context's size, which pyctl does not print
            assert ours.stdout.splitlines() == theirs.stdout.splitlines()[2:], name
