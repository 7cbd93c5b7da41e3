"""pyctl compose beside docker-compose 1.29 (Debian's, over a private dockerd 20.10): the same small compose
file through both, then what each made compared: container, network and volume names, the
com.docker.compose.* labels, `ps`, `config` (its resolved values: 1.29 prints another YAML than compose v2),
and `down -v` leaving nothing.

pyctl compose follows compose v2 where the two differ, and the tests pin those differences:
- containers are named project-service-N (1.29: project_service_N); networks and volumes alike;
- `ps` has v2's columns (NAME IMAGE COMMAND SERVICE CREATED STATUS PORTS; 1.29: Name Command State Ports);
- com.docker.compose.version is v2's (1.29 writes its own, 1.29.2); v2 adds .image and .depends_on, and
  numbers a one-off container (`run`) 1 where 1.29 gives it no .container-number;
  .project.config_files holds absolute paths (1.29: the files as found or given, docker-compose.yml);
- `config` shows every network and volume with the name it is made under, the default network included
  (1.29 shows no names and no default network), volumes in long form (1.29: "data:/data:rw"), and no
  version (1.29: version: '3.9').
Left as it is: v2's `config` gives a service without networks `networks: {default: null}`; pyctl's shows
none (adding it to the resolved service would change every config hash, recreating running projects).

The dockerd runs without a bridge or iptables rules (tests/harness/dockerd.py): user networks still work,
and the host's firewall is left alone."""

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.harness import dockerd as dockerd_harness
from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.fixtures import busybox_tar
from tests.harness.pyruncd import VENV_BIN

DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="containers need root"),
    pytest.mark.skipif(bool(dockerd_harness.available()), reason=dockerd_harness.available() or "dockerd runs"),
    pytest.mark.skipif(not os.access(DOCKER_COMPOSE, os.X_OK), reason="apt-get install docker-compose"),
]

PROJECT = "cparity"
LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done"
COMPOSE = textwrap.dedent(f"""
    services:
      web:
        image: busybox
        command: ["sh", "-c", "{LOOP}"]
        environment:
          MODE: ${{MODE:-plain}}
        volumes: ["data:/data"]
        networks: [default, back]
      worker:
        image: busybox
        command: ["sh", "-c", "{LOOP}"]
        depends_on: [web]
    networks:
      back: {{}}
    volumes:
      data: {{}}
    """)
# what compose puts on a container that both say the same of
SHARED_LABELS = ["project", "service", "container-number", "oneoff", "project.working_dir"]


class Side:
    """One engine: its compose command, its docker-like CLI, and the project's names in it."""

    def __init__(self, compose: list[str], cli: list[str], env: dict[str, str], workdir: Path) -> None:
        self.compose_argv, self.cli_argv, self.env, self.workdir = compose, cli, env, workdir

    def _run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(argv, env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run([*self.compose_argv, "-p", PROJECT, *args], check)

    def cli(self, *args: str) -> str:
        return self._run([*self.cli_argv, *args]).stdout

    def names(self, *ls: str) -> list[str]:
        """The names an `ls` lists that are the project's (by the name's prefix: networks and volumes of
        other projects are not there to confuse it)."""
        out = self.cli(*ls, "--format", "{{.Names}}" if ls[0] == "ps" else "{{.Name}}").split()
        return sorted(n for n in out if n.startswith(PROJECT))

    def left(self) -> list[str]:
        return self.names("ps", "-a") + self.names("network", "ls") + self.names("volume", "ls")

    def inspect(self, kind: str, name: str) -> dict:
        return json.loads(self.cli(kind, "inspect", name))[0]


@pytest.fixture(scope="module")
def sides(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("compose-parity")
    (workdir / "docker-compose.yml").write_text(COMPOSE)
    env_of = {"MODE": "strict"}
    with busybox_daemon() as d, dockerd_harness.Dockerd() as dk:
        dk.load_image(busybox_tar(dk.dir))
        pyctl = Side([str(VENV_BIN / "pyctl"), "compose"], [str(VENV_BIN / "pyctl")], {**d.env, **env_of}, workdir)
        docker = Side([DOCKER_COMPOSE], dk.docker_argv(), {**dk.env, **env_of}, workdir)
        try:
            for side in (pyctl, docker):
                side.compose("up", "-d", "--scale", "worker=2")
            yield pyctl, docker
        finally:
            for side in (pyctl, docker):
                side.compose("down", "-v", check=False)


def test_containers_networks_and_volumes_have_the_same_names_but_vs_separator(sides):
    pyctl, docker = sides
    assert docker.names("ps", "-a") == ["cparity_web_1", "cparity_worker_1", "cparity_worker_2"]
    assert pyctl.names("ps", "-a") == ["cparity-web-1", "cparity-worker-1", "cparity-worker-2"]
    assert pyctl.names("network", "ls") == docker.names("network", "ls") == ["cparity_back", "cparity_default"]
    assert pyctl.names("volume", "ls") == docker.names("volume", "ls") == ["cparity_data"]


def test_compose_labels_say_the_same(sides):
    pyctl, docker = sides
    for service, number in (("web", 1), ("worker", 1), ("worker", 2)):
        ours = pyctl.inspect("container", f"{PROJECT}-{service}-{number}")["Config"]["Labels"]
        theirs = docker.inspect("container", f"{PROJECT}_{service}_{number}")["Config"]["Labels"]
        for key in SHARED_LABELS:
            assert ours.get(f"com.docker.compose.{key}") == theirs[f"com.docker.compose.{key}"], key
        assert {k for k in theirs if k.startswith("com.docker.compose.")} <= set(ours)
        # the files as v2 writes them: absolute (1.29: as found or given)
        files = theirs["com.docker.compose.project.config_files"].split(",")
        workdir = theirs["com.docker.compose.project.working_dir"]
        assert ours["com.docker.compose.project.config_files"] == ",".join(str(Path(workdir, f)) for f in files)
        # the container's networks, by the names the service is known by there
        nets = {n: sorted(set(v["Aliases"] or []) - {ours.get("Id", "")}) for n, v in
                pyctl.inspect("container", f"{PROJECT}-{service}-{number}")["NetworkSettings"]["Networks"].items()}
        theirs_nets = docker.inspect("container", f"{PROJECT}_{service}_{number}")["NetworkSettings"]["Networks"]
        assert set(nets) == set(theirs_nets)
        for net in nets:
            assert service in nets[net] and service in theirs_nets[net]["Aliases"]
    for kind, name, key in (("network", "cparity_back", "network"), ("network", "cparity_default", "network"),
                            ("volume", "cparity_data", "volume")):
        ours, theirs = pyctl.inspect(kind, name)["Labels"], docker.inspect(kind, name)["Labels"]
        for k in ("com.docker.compose.project", f"com.docker.compose.{key}"):
            assert ours[k] == theirs[k], (name, k)


def test_ps_lists_the_same_containers_in_v2s_columns(sides):
    pyctl, docker = sides
    ours = pyctl.compose("ps").stdout.splitlines()
    theirs = docker.compose("ps").stdout.splitlines()
    assert ours[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert theirs[0].split() == ["Name", "Command", "State", "Ports"]
    ours_rows = {line.split()[0].replace("-", "_"): line for line in ours[1:]}
    theirs_rows = {line.split()[0]: line for line in theirs[2:]}  # a line of dashes under the header
    assert set(ours_rows) == set(theirs_rows)
    assert all(" Up " in f"{line} " for line in [*ours_rows.values(), *theirs_rows.values()])
    assert sorted(pyctl.compose("ps", "-q").stdout.split()) == sorted(pyctl.cli("ps", "-q", "--no-trunc").split())
    assert len(docker.compose("ps", "-q").stdout.split()) == 3


def _resolved(config: dict) -> dict:
    """What a config says, whatever the format: per service its image, command, environment, networks,
    volumes as (source, target) and depends_on; the top-level networks and volumes."""
    services = {}
    for name, svc in config["services"].items():
        volumes = []
        for v in svc.get("volumes", []):
            if isinstance(v, str):
                source, target = v.split(":")[:2]
                v = {"source": source, "target": target}
            volumes.append((v["source"], v["target"]))
        env = svc.get("environment", {})
        if isinstance(env, list):
            env = dict(item.partition("=")[::2] for item in env)
        services[name] = {"image": svc["image"], "command": svc["command"], "environment": env,
                          "networks": sorted(svc.get("networks") or ["default"]),
                          "volumes": volumes, "depends_on": sorted(svc.get("depends_on") or [])}
    return {"services": services, "networks": sorted(set(config.get("networks", {})) - {"default"}),
            "volumes": sorted(config.get("volumes", {}))}


def test_config_resolves_to_the_same_values(sides):
    pyctl, docker = sides
    ours = yaml.safe_load(pyctl.compose("config").stdout)
    theirs = yaml.safe_load(docker.compose("config").stdout)
    assert _resolved(ours) == _resolved(theirs)
    assert ours["services"]["web"]["environment"] == {"MODE": "strict"}  # interpolated from the environment
    assert {k: v["name"] for k, v in ours["networks"].items()} == {"back": "cparity_back", "default": "cparity_default"}
    assert ours["volumes"] == {"data": {"name": "cparity_data"}}
    assert "version" in theirs and "version" not in ours



def test_a_one_off_container_is_labelled_alike(sides):
    pyctl, docker = sides
    found = []
    for side, sep in ((pyctl, "-"), (docker, "_")):
        side.compose("run", "-d", "worker")
        names = [n for n in side.names("ps", "-a") if n.startswith(f"{PROJECT}{sep}worker{sep}run{sep}")]
        assert len(names) == 1, side.names("ps", "-a")
        found.append(side.inspect("container", names[0])["Config"]["Labels"])
    ours, theirs = found
    for key in ("project", "service", "oneoff"):
        assert ours[f"com.docker.compose.{key}"] == theirs[f"com.docker.compose.{key}"], key
    assert ours["com.docker.compose.oneoff"] == "True"
    # v2 numbers a one-off container 1, as it creates it through the same path as up's; 1.29 does not number it
    assert ours["com.docker.compose.container-number"] == "1" and "com.docker.compose.container-number" not in theirs

def test_down_v_leaves_nothing_in_either(sides):
    for side in sides:
        side.compose("down", "-v")
        assert side.left() == []
