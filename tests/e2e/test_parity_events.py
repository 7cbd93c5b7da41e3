"""`pyctl events` for networks, volumes and containers, with --filter, --since and --until, in dockerd's
output format; the volume events of a run compared with dockerd 20.10's own."""

import re
import time

import pytest

from tests.e2e import test_networks as base
from tests.e2e.test_networks import uniq
from tests.harness.dockerd import Dockerd, available

pytestmark = base.pytestmark
daemon, d = base.daemon, base.d  # the fixtures, under their names here
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (\w+) (\S+) (\S*)(?: \((.*)\))?$")


def _events(run, since: float, *flags: str) -> list[tuple[str, str, str, dict[str, str]]]:
    out = run("events", "--since", f"{since:.9f}", "--until", f"{time.time():.9f}", *flags).stdout
    got = []
    for line in out.splitlines():
        m = LINE.match(line)
        assert m, line
        attrs = dict(kv.split("=", 1) for kv in m.group(4).split(", ")) if m.group(4) else {}
        got.append((m.group(1), m.group(2), m.group(3), attrs))
    return got


def test_network_volume_and_container_events_filtered_since_until(d):
    net, vol, c = uniq("net"), uniq("vol"), uniq("c")
    t0 = time.time()
    nid = d.pyctl("network", "create", net).stdout.strip()
    d.pyctl("volume", "create", vol)
    cid = d.pyctl("run", "-d", "--name", c, "--network", net, "-v", f"{vol}:/data", "busybox", "true").stdout.strip()
    d.pyctl("wait", c)
    d.pyctl("rm", c)
    d.pyctl("network", "rm", net)
    d.pyctl("volume", "rm", vol)
    assert [(a, i, x) for _, a, i, x in _events(d.pyctl, t0, "--filter", "type=network")] == [
        ("create", nid, {"name": net, "type": "bridge"}),
        ("connect", nid, {"container": cid, "name": net, "type": "bridge"}),
        ("disconnect", nid, {"container": cid, "name": net, "type": "bridge"}),
        ("destroy", nid, {"name": net, "type": "bridge"})]
    assert [(a, i, x) for _, a, i, x in _events(d.pyctl, t0, "-f", f"volume={vol}")] == [
        ("create", vol, {"driver": "local"}),
        ("create", vol, {"driver": "local"}),  # dockerd tells it again when a container names it
        ("mount", vol, {"container": cid, "destination": "/data", "driver": "local", "propagation": "",
                        "read/write": "true"}),
        ("unmount", vol, {"container": cid, "driver": "local"}),
        ("destroy", vol, {"driver": "local"})]
    assert [(t, a) for t, a, _, _ in _events(d.pyctl, t0, "--filter", "event=create", "--filter", "event=destroy")] == [
        ("network", "create"), ("volume", "create"), ("volume", "create"), ("container", "create"),
        ("container", "destroy"),
        ("network", "destroy"), ("volume", "destroy")]
    assert [a for _, a, _, _ in _events(d.pyctl, t0, "--filter", f"container={c}")] == [
        "create", "start", "die", "destroy"]
    # a network's events in docker's line: time, type, action, id, (attributes sorted)
    line = d.pyctl("events", "--since", f"{t0:.9f}", "--until", f"{time.time():.9f}", "-f", "type=network").stdout
    assert re.match(rf"^\S+Z network create {nid} \(name={net}, type=bridge\)$", line.splitlines()[0])
    # --format: docker's message through a Go template
    out = d.pyctl("events", "--since", f"{t0:.9f}", "--until", f"{time.time():.9f}", "-f", "type=volume",
                  "--format", "{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}").stdout
    assert out.splitlines()[0] == f"volume create {vol} local"
    r = d.pyctl("events", "--filter", "nope=1", "--until", "1s", check=False)
    assert r.returncode == 1 and "invalid filter 'nope'" in r.stderr


@pytest.mark.skipif(bool(available()), reason=available() or "dockerd available")
def test_volume_events_of_a_run_as_dockerd(d):
    vol = uniq("vol")

    def sequence(run, *run_flags: str) -> list[tuple[str, list[str]]]:
        t0 = time.time()
        run("volume", "create", vol)
        run("run", "--rm", *run_flags, "-v", f"{vol}:/data:ro", "busybox", "true")
        run("volume", "rm", vol)
        time.sleep(0.2)
        return [(a, sorted(x.items())) for _, a, _, x in _events(run, t0, "--filter", "type=volume")
                if "container" not in x or x.pop("container")]

    with Dockerd() as docker:
        docker.load_image(base.FIXTURE_TAR)

        def run_docker(*args: str, **kw):
            r = docker.docker(*args, **kw)
            r.stdout = r.stdout.decode()
            return r
        want = sequence(run_docker, "--network", "none", "--pull", "never")
    assert sequence(d.pyctl, "--network", "none") == want  # a create at `volume create` and at `run` too


@pytest.mark.skipif(bool(available()), reason=available() or "dockerd available")
def test_image_events_as_dockerd(d, tmp_path):
    tag = f"parity/{uniq('img')}:1"

    def sequence(run) -> list[tuple[str, str, dict[str, str]]]:
        t0 = time.time()
        run("load", "-i", str(base.FIXTURE_TAR))
        run("tag", "busybox", tag)
        run("rmi", tag)
        run("save", "-o", str(tmp_path / "out.tar"), "busybox")
        time.sleep(0.2)
        return [(a, i, x) for _, a, i, x in _events(run, t0, "--filter", "type=image")]

    with Dockerd() as docker:
        def run_docker(*args: str, **kw):
            r = docker.docker(*args, **kw)
            r.stdout = r.stdout.decode()
            return r
        want = sequence(run_docker)
    got = sequence(d.pyctl)
    assert [a for a, _, _ in want] == ["load", "tag", "untag", "save"]
    assert got == want
