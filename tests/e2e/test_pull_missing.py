"""Pulling what is missing, as docker 20.10 does (issue 15 item 6): run and create pull an image that is
not local (--pull missing|always|never), push -a pushes every tag of a repository, and a registry that
answers HTTPS in plain HTTP is refused in docker's words unless marked insecure.

The expected words are those dockerd 20.10 and its CLI print for the same commands (checked side by
side with tests/harness/dockerd.py and the same registry)."""

import json
import os
import re
import subprocess
import urllib.request

import pytest

from tests.harness import registry
from tests.harness.fixtures import busybox_tar
from tests.harness.pyruncd import Pyruncd
from tests.harness.registry import Registry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="pyruncd keeps owners and whiteouts in snapshots: root only"),
    pytest.mark.skipif(bool(registry.available()), reason=registry.available() or "ok"),
]


@pytest.fixture
def d():
    with Pyruncd() as daemon:
        yield daemon


@pytest.fixture
def reg():
    with Registry() as r:
        yield r


def _pushed(d, tmp_path, ref: str) -> None:
    """`ref` in the registry, and no image left locally."""
    d.pyctl("load", "-i", str(busybox_tar(tmp_path)))
    d.pyctl("tag", "busybox", ref)
    d.pyctl("push", ref)
    d.pyctl("rmi", ref, "busybox")
    assert d.pyctl("images", "-q").stdout == ""


def _tags(host: str, repo: str) -> list[str]:
    with urllib.request.urlopen(f"http://{host}/v2/{repo}/tags/list", timeout=10) as resp:
        return sorted(json.load(resp)["tags"])


def test_run_and_create_pull_a_missing_image_on_stderr(d, reg, tmp_path):
    ref = f"{reg.host}/busybox"
    _pushed(d, tmp_path, f"{ref}:latest")
    r = d.pyctl("run", "--rm", "--network", "none", ref, "echo", "hi")
    assert r.stdout == "hi\n"
    lines = r.stderr.splitlines()
    assert lines[0] == f"Unable to find image '{ref}:latest' locally"
    assert lines[1] == "latest: Pulling from busybox"
    assert re.fullmatch(r"Digest: sha256:[0-9a-f]{64}", lines[-2])
    assert lines[-1] == f"Status: Downloaded newer image for {ref}:latest"
    # present now: nothing is pulled, nothing is said
    r = d.pyctl("run", "--rm", "--network", "none", ref, "echo", "hi")
    assert (r.stdout, r.stderr) == ("hi\n", "")

    d.pyctl("rmi", ref)
    r = d.pyctl("create", "--network", "none", f"{ref}:latest", "true")
    assert re.fullmatch(r"[0-9a-f]{64}\n", r.stdout)  # stdout keeps only the container's id
    assert r.stderr.startswith(f"Unable to find image '{ref}:latest' locally\nlatest: Pulling from busybox\n")
    d.pyctl("rm", r.stdout.strip())

    # what the registry does not have: docker's words, run's status
    r = d.pyctl("run", "--rm", "--network", "none", f"{reg.host}/nothere", "true", check=False)
    assert r.returncode == 125 and r.stdout == ""
    assert r.stderr == (f"Unable to find image '{reg.host}/nothere:latest' locally\n"
                        f"pyctl: Error response from daemon: manifest for {reg.host}/nothere:latest not found: "
                        "manifest unknown: manifest unknown\n")


def test_pull_never_and_always(d, reg, tmp_path):
    ref = f"{reg.host}/busybox:v1"
    _pushed(d, tmp_path, ref)
    for command in ("run", "create"):
        r = d.pyctl(command, "--pull", "never", "--network", "none", ref, "true", check=False)
        assert r.returncode == 125 and r.stdout == ""
        assert r.stderr == f"pyctl: Error response from daemon: No such image: {ref}\n"
    r = d.pyctl("run", "--pull", "never", "--network", "none", f"{reg.host}/busybox", "true", check=False)
    assert r.stderr == f"pyctl: Error response from daemon: No such image: {reg.host}/busybox:latest\n"
    assert d.pyctl("images", "-q").stdout == ""

    r = d.pyctl("run", "--rm", "--pull", "always", "--network", "none", ref, "echo", "hi")
    assert r.stdout == "hi\n" and "Unable to find image" not in r.stderr
    assert r.stderr.splitlines()[-1] == f"Status: Downloaded newer image for {ref}"
    r = d.pyctl("run", "--rm", "--pull", "always", "--network", "none", ref, "echo", "hi")
    assert r.stdout == "hi\n"
    # the image is here whole: no layer lines, as docker
    assert re.fullmatch(rf"v1: Pulling from busybox\nDigest: sha256:[0-9a-f]{{64}}\n"
                        rf"Status: Image is up to date for {re.escape(ref)}\n", r.stderr), r.stderr

    r = d.pyctl("run", "--pull", "sometimes", ref, "true", check=False)
    assert r.returncode == 125
    assert r.stderr == ("pyctl: invalid pull option: 'sometimes': must be one of \"always\", \"missing\" "
                        "or \"never\"\n")


def test_push_a_name_pushes_latest_and_all_tags_pushes_each(d, reg, tmp_path):
    repo = f"{reg.host}/busybox"
    d.pyctl("load", "-i", str(busybox_tar(tmp_path)))
    d.pyctl("tag", "busybox", f"{repo}:latest")
    d.pyctl("tag", "busybox", f"{repo}:v2")
    out = d.pyctl("push", repo).stdout.splitlines()
    assert out[:2] == ["Using default tag: latest", f"The push refers to repository [{repo}]"]
    assert re.fullmatch(r"latest: digest: sha256:[0-9a-f]{64} size: \d+", out[-1])
    assert _tags(reg.host, "busybox") == ["latest"]

    out = d.pyctl("push", "--all-tags", repo).stdout.splitlines()
    assert out[0] == f"The push refers to repository [{repo}]"
    summaries = [line for line in out if ": digest: " in line]
    assert [s.split(":")[0] for s in summaries] == ["latest", "v2"]
    prepared = [line.split(":")[0] for line in out if line.endswith(": Preparing")]  # one layer, once a tag
    assert len(prepared) == 2 and out.count(f"{prepared[0]}: Layer already exists") == 2
    assert _tags(reg.host, "busybox") == ["latest", "v2"]
    assert d.pyctl("push", "-a", "-q", repo).stdout == f"{repo}\n"

    r = d.pyctl("push", "-a", f"{repo}:v2", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "tag can't be used with --all-tags/-a\n")
    r = d.pyctl("push", "-a", f"{reg.host}/nothere", check=False)
    assert r.returncode == 1
    assert r.stdout == f"The push refers to repository [{reg.host}/nothere]\n"
    assert r.stderr == f"An image does not exist locally with the tag: {reg.host}/nothere\n"


def _outside_address() -> str:
    """An IPv4 address of this host that is not loopback (docker treats 127.0.0.0/8 as insecure)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True,
                         text=True).stdout
    return next((line.split()[3].split("/")[0] for line in out.splitlines()), "")


@pytest.mark.skipif(not _outside_address(), reason="no non-loopback IPv4 address here")
def test_plain_http_registry_not_marked_insecure_is_refused_in_dockers_words(d, tmp_path):
    plain = Registry()
    plain.host = f"{_outside_address()}:{plain.port}"
    plain.config.write_text(plain.config.read_text().replace(f"127.0.0.1:{plain.port}", plain.host))
    with plain:
        ref = f"{plain.host}/bb:1"
        refused = f'Get "https://{plain.host}/v2/": http: server gave HTTP response to HTTPS client'
        d.pyctl("load", "-i", str(busybox_tar(tmp_path)))
        d.pyctl("tag", "busybox", ref)
        r = d.pyctl("push", ref, check=False)
        assert (r.returncode, r.stdout, r.stderr) == (1, f"The push refers to repository [{plain.host}/bb]\n",
                                                      refused + "\n")
        r = d.pyctl("pull", ref, check=False)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", f"Error response from daemon: {refused}\n")
        r = d.pyctl("run", "--rm", "--network", "none", f"{plain.host}/bb:2", "true", check=False)
        assert r.returncode == 125
        assert r.stderr == (f"Unable to find image '{plain.host}/bb:2' locally\n"
                            f"pyctl: Error response from daemon: {refused}\n")

        # marked insecure (a CIDR, as dockerd's --insecure-registry takes), the same registry works
        with Pyruncd("--insecure-registry", f"{_outside_address()}/32") as trusting:
            trusting.pyctl("load", "-i", str(busybox_tar(tmp_path)))
            trusting.pyctl("tag", "busybox", ref)
            trusting.pyctl("push", ref)
            trusting.pyctl("rmi", ref, "busybox")
            r = trusting.pyctl("run", "--rm", "--network", "none", ref, "echo", "hi")
            assert r.stdout == "hi\n" and "Downloaded newer image" in r.stderr
