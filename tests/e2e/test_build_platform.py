"""pyctl build's platforms: `--platform` and `FROM --platform=` (linux/amd64, $BUILDPLATFORM, $TARGETPLATFORM),
the automatic platform ARGs with BuildKit's scoping, a multi-platform base's manifest chosen by platform,
and a RUN on a platform this machine cannot run refused in BuildKit's words before any step. What the
classic builder of dockerd 20.10 also has (FROM --platform, the index's manifest, the parse errors) is
compared with it.
"""

import os
import subprocess
from pathlib import Path

import pytest
from spec_fixtures import busybox_image, write_oci_layout

from tests.harness import registry
from tests.harness.build_compare import assert_build_left_nothing, classic_build, context
from tests.harness.busybox_daemon import busybox_daemon, inspect
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.fixtures import FIXTURE_TAR
from tests.harness.registry import Registry

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]

PLATFORM_ARGS = """\
ARG BUILDPLATFORM
FROM --platform=$BUILDPLATFORM busybox AS tools
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
ARG BUILDOS
ARG BUILDARCH
ARG BUILDVARIANT
RUN echo "target=$TARGETPLATFORM,$TARGETOS,$TARGETARCH,[$TARGETVARIANT] build=$BUILDPLATFORM,$BUILDOS,$BUILDARCH,[$BUILDVARIANT]"
FROM --platform=$TARGETPLATFORM busybox
COPY --from=tools /bin/busybox /copied
RUN echo "undeclared=[$TARGETPLATFORM$BUILDARCH]"
"""


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)


def build(d, path: Path, *args: str, check: bool = True):
    return d.pyctl("build", *args, str(path), check=check, timeout=300)


def test_the_platform_args_follow_buildkits_scoping(d, tmp_path):
    path = context(tmp_path, PLATFORM_ARGS)
    for args in ((), ("--platform", "linux/amd64"), ("--platform", "amd64"), ("--platform", "linux/x86_64")):
        out = build(d, path, *args, "--no-cache", "-t", "platformargs:1").stdout
        assert "target=linux/amd64,linux,amd64,[] build=linux/amd64,linux,amd64,[]\n" in out
        assert "undeclared=[]\n" in out  # a stage sees them only once it declares them
    image = inspect(d, "platformargs:1")
    assert (image["Os"], image["Architecture"]) == ("linux", "amd64")


def test_a_run_on_a_platform_this_machine_cannot_run_is_one_line_before_any_step(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo never\n")
    for args, named in ((("--platform", "linux/arm64"), "linux/arm64"), (("--platform", "linux/arm/v7"), "linux/arm/v7"),
                        (("--platform", "s390x"), "linux/s390x")):
        r = build(d, path, *args, "-t", "foreign:1", check=False)
        assert r.returncode == 1
        assert r.stderr == f"Error response from daemon: runtime execution on platform {named} not supported\n"
        assert "Step" not in r.stdout
    from_line = context(tmp_path / "from", "FROM --platform=linux/riscv64 busybox\nRUN echo never\n")
    r = build(d, from_line, check=False)
    assert (r.returncode, r.stderr) == (1, "Error response from daemon: runtime execution on platform "
                                           "linux/riscv64 not supported\n")
    assert d.pyctl("images", "-q", "foreign").stdout == ""
    # a stage the target does not need is not built, whatever its platform
    unused = context(tmp_path / "unused", "FROM --platform=linux/arm64 busybox AS other\nRUN echo never\n"
                     "FROM busybox AS wanted\nRUN echo built\n")
    assert "built\n" in build(d, unused, "--target", "wanted").stdout


def _multi_platform_base(reg: Registry, tmp_path: Path) -> str:
    """busybox in the registry as an index whose first manifest is arm64's."""
    ref = f"{reg.host}/multi:latest"
    write_oci_layout(str(tmp_path / "oci"), {"latest": busybox_image()}, platforms=["linux/arm64", "linux/amd64"])
    subprocess.run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'oci'}:latest",
                    f"docker://{ref}"], check=True, capture_output=True, timeout=120)
    return ref


@pytest.mark.skipif(bool(registry.available()), reason=registry.available() or "ok")
def test_a_multi_platform_base_gives_the_manifest_of_the_platform_asked(d, tmp_path):
    with Registry() as reg:
        ref = _multi_platform_base(reg, tmp_path)
        # no RUN: a stage of another platform is only files, as with BuildKit
        arm = context(tmp_path / "arm", f"FROM --platform=linux/arm64 {ref}\nCOPY Dockerfile /\n")
        build(d, arm, "-t", "multi-arm:1")
        assert inspect(d, "multi-arm:1")["Architecture"] == "arm64"
        # the arm64 image now here under that name is not the one a build for this machine starts from
        native = context(tmp_path / "native", f"FROM {ref}\nRUN uname -m\n")
        out = build(d, native, "-t", "multi-native:1").stdout
        assert "x86_64\n" in out
        assert inspect(d, "multi-native:1")["Architecture"] == "amd64"
        assert inspect(d, ref)["Architecture"] == "amd64"
        d.pyctl("rmi", "multi-arm:1", "multi-native:1", ref)


@pytest.mark.skipif(bool(dockerd_available() or registry.available()),
                    reason=dockerd_available() or registry.available() or "ok")
def test_platforms_against_dockerds_classic_builder(d, tmp_path):
    """What both builders do: FROM --platform=linux/amd64, an index's manifest for this machine, and the
    words of a platform that does not parse (as a flag, and as FROM's after substitution)."""
    with Registry() as reg, Dockerd() as docker:
        docker.load_image(FIXTURE_TAR)
        ref = _multi_platform_base(reg, tmp_path)
        path = context(tmp_path / "ok", f"FROM --platform=linux/amd64 busybox\nFROM {ref}\nRUN uname -m\n")
        theirs = classic_build(docker, path, "-t", "plat:1")
        ours = build(d, path, "-t", "plat:1")
        assert theirs.returncode == 0 and "x86_64\n" in theirs.stdout and "x86_64\n" in ours.stdout
        theirs_image = docker.docker("inspect", "--format", "{{.Os}}/{{.Architecture}}", "plat:1").stdout.decode()
        assert theirs_image == "linux/amd64\n" and inspect(d, "plat:1")["Architecture"] == "amd64"
        d.pyctl("rmi", "plat:1", ref)

        theirs = classic_build(docker, path, "--platform", "bogus")
        ours = build(d, path, "--platform", "bogus", check=False)
        assert theirs.returncode == ours.returncode == 1
        expected = 'Error response from daemon: "bogus": unknown operating system or architecture: invalid argument'
        assert theirs.stderr.splitlines()[-1] == expected and ours.stderr == expected + "\n"

        unset = context(tmp_path / "unset", "FROM --platform=$NOT_SET busybox\n")
        theirs = classic_build(docker, unset)
        ours = build(d, unset, check=False)
        assert theirs.returncode == ours.returncode == 1
        expected = ('failed to parse platform : "" is an invalid component of "": platform specifier component '
                    'must match "^[A-Za-z0-9_-]+$": invalid argument')
        assert theirs.stderr.splitlines()[-1] == expected
        assert ours.stderr.splitlines()[-1].endswith(expected)
