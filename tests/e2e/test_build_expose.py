"""EXPOSE as docker's classic builder (dockerd 20.10) does it: variables expanded (a multi-word value gives
several ports), the words sorted as written before that (the history line shows that order), each read
as nat.ParsePortSpecs reads it ([[ip:]hostPort:]port[-port][/proto]), the config's ports sorted as Go
writes a map, and its error words. pyctl alone, then the same Dockerfiles against dockerd."""

import json
import os
import re

import pytest

from tests.harness.build_compare import classic_build, context
from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.fixtures import FIXTURE_TAR

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]

EXPOSED = """\
FROM busybox
ARG P=8080
ENV Q=53 MANY="81 9"
EXPOSE $P 9000 80/TCP ${Q}/udp 100-102 443/tcp
EXPOSE $MANY 7000:7001 127.0.0.1:6000:6001/udp 080
"""
PORTS = ["100/tcp", "101/tcp", "102/tcp", "443/tcp", "53/udp", "6001/udp", "7001/tcp", "80/tcp", "8080/tcp",
         "81/tcp", "9/tcp", "9000/tcp"]
BAD = {"EXPOSE abc": "Invalid containerPort: abc", "EXPOSE 80/xyz": "Invalid proto: xyz",
       "EXPOSE 70000": "Invalid containerPort: 70000", "EXPOSE 90-80": "Invalid containerPort: 90-80",
       "EXPOSE 1-2:80-82": "Invalid ranges specified for container and host Ports: 80-82 and 1-2",
       "EXPOSE x:1:2": "Invalid ip address: x"}


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


def _ours(d, image: str) -> tuple[str, str]:
    ports = d.pyctl("inspect", "--format", "{{json .Config.ExposedPorts}}", image).stdout
    return ports, d.pyctl("history", "--no-trunc", image).stdout


def _keys_in_order(text: str) -> list[str]:
    return re.findall(r'"(\d+/\w+)"', text)


def test_expose_expands_sorts_and_reads_port_specs_as_docker(d, tmp_path):
    d.pyctl("build", "-t", "exposed:1", str(context(tmp_path, EXPOSED)))
    ports, history = _ours(d, "exposed:1")
    assert _keys_in_order(ports) == PORTS
    assert list(json.loads(ports)) == PORTS
    assert list(json.loads(d.pyctl("inspect", "exposed:1").stdout)[0]["Config"]["ExposedPorts"]) == PORTS
    assert "/bin/sh -c #(nop)  EXPOSE 81 9 080 127.0.0.1:6000:6001/udp 7000:7001 " in history
    assert "/bin/sh -c #(nop)  EXPOSE 8080 53/udp 100-102 443/tcp 80/TCP 9000 " in history
    for line, words in BAD.items():
        r = d.pyctl("build", str(context(tmp_path / "bad", f"FROM busybox\n{line}\n")), check=False)
        assert (r.returncode, r.stderr.splitlines()[-1]) == (1, words)
    assert d.pyctl("ps", "-aq").stdout == ""


@pytest.mark.skipif(bool(dockerd_available()), reason=dockerd_available() or "ok")
def test_expose_against_dockerds_classic_builder(d, tmp_path):
    path = context(tmp_path, EXPOSED)
    with Dockerd() as docker:
        docker.load_image(FIXTURE_TAR)
        theirs = classic_build(docker, path, "-t", "exposed:2")
        assert theirs.returncode == 0, theirs.stderr
        d.pyctl("build", "-t", "exposed:2", str(path))
        their_ports = docker.docker("inspect", "--format", "{{json .Config.ExposedPorts}}", "exposed:2").stdout.decode()
        their_history = docker.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}",
                                      "exposed:2").stdout.decode().splitlines()
        ports, history = _ours(d, "exposed:2")
        assert ports == their_ports
        ours_config = json.loads(d.pyctl("inspect", "exposed:2").stdout)[0]["Config"]
        their_config = json.loads(docker.docker("inspect", "exposed:2").stdout)[0]["Config"]
        assert list(ours_config["ExposedPorts"]) == list(their_config["ExposedPorts"])
        assert all(f"{line} " in history for line in their_history[:2]), their_history
        for line in BAD:
            bad = context(tmp_path / "bad", f"FROM busybox\n{line}\n")
            theirs = classic_build(docker, bad)
            ours = d.pyctl("build", str(bad), check=False)
            assert theirs.returncode == ours.returncode == 1
            assert theirs.stderr.splitlines()[-1] == ours.stderr.splitlines()[-1], line


def test_the_config_keeps_its_base_ports_merged_in_order(d, tmp_path):
    base = context(tmp_path / "base", "FROM busybox\nEXPOSE 9 10000\n")
    d.pyctl("build", "-t", "exposebase:1", str(base))
    child = context(tmp_path / "child", "FROM exposebase:1\nEXPOSE 1/udp 100\n")
    d.pyctl("build", "-t", "exposechild:1", str(child))
    ports, _ = _ours(d, "exposechild:1")
    assert list(json.loads(ports)) == ["1/udp", "100/tcp", "10000/tcp", "9/tcp"]
