"""The service -> ContainerConfig mapping, the config hash, dependency order and the up plan."""

import subprocess
import sys

import pytest
from pyctl.compose import labels
from pyctl.compose.convert import container_config
from pyctl.compose.errors import ComposeError
from pyctl.compose.reconcile import Existing, dependency_levels, dependency_order, orphans, plan

from tests.unit.cli.compose.helpers import project

APP = """
services:
  web:
    image: busybox
    command: httpd -f -p 80
    entrypoint: []
    environment: {A: "1"}
    ports: ["127.0.0.1:8080:80", "53/udp"]
    volumes: [data:/data, ./html:/www:ro, /anon, {type: tmpfs, target: /t, tmpfs: {size: 1m}}]
    networks:
      front: {aliases: [www]}
      back: {ipv4_address: 10.7.0.9}
    healthcheck: {test: [CMD, wget, -q, "http://x/a b"], interval: 1m30s, retries: 3}
    deploy: {resources: {limits: {cpus: "0.5", memory: 64m, pids: 100}}}
    ulimits: {nofile: {soft: 100, hard: 200}, nproc: 50}
    logging: {options: {max-size: 1m}}
    secrets: [token]
    configs: [{source: conf, target: /etc/app.conf}]
    extra_hosts: {db: 10.0.0.1}
    stop_grace_period: 2s
    restart: unless-stopped
    depends_on: {db: {condition: service_healthy}}
  db:
    image: busybox
    network_mode: none
  sidecar:
    image: busybox
    network_mode: service:web
networks: {front: {}, back: {}}
volumes: {data: {}}
secrets: {token: {file: ./token.txt}}
configs: {conf: {file: ./app.conf}}
"""


@pytest.fixture
def app(tmp_path):
    return project(tmp_path / "app", {"compose.yaml": APP})


def test_container_config(app, tmp_path):
    config, connects = container_config(app, app.services["web"], 2)
    d = tmp_path / "app"
    assert config["name"] == "app-web-2"
    assert config["cmd"] == ["httpd", "-f", "-p", "80"]
    assert config["entrypoint_set"] and config["entrypoint"] == []
    assert config["publish"] == ["127.0.0.1:8080:80/tcp", "53/udp"]
    assert config["volumes"] == ["app_data:/data", f"{d}/html:/www:ro", "/anon", f"{d}/token.txt:/run/secrets/token:ro",
                                 f"{d}/app.conf:/etc/app.conf:ro"]
    assert config["tmpfs"] == ["/t:size=1m"]
    assert (config["network"], config["network_aliases"]) == ("app_front", ["web", "www"])
    assert [(c.network, c.aliases, c.ip) for c in connects] == [("app_back", ["web"], "10.7.0.9")]
    assert config["health_cmd"] == "wget -q 'http://x/a b'"
    assert (config["health_interval"], config["health_retries"]) == ("90s", "3")
    assert (config["cpus"], config["memory"], config["pids_limit"]) == ("0.5", "64m", "100")
    assert config["ulimits"] == ["nofile=100:200", "nproc=50"]
    assert config["log_opts"] == ["max-size=1m"]
    assert config["add_hosts"] == ["db:10.0.0.1"]
    assert config["restart"] == "unless-stopped"
    assert config["env"] == ["A=1"]
    assert app.services["web"].stop_timeout == 2
    assert {k: config["labels"][k] for k in (labels.PROJECT, labels.SERVICE, labels.NUMBER, labels.ONEOFF)} == {
        labels.PROJECT: "app", labels.SERVICE: "web", labels.NUMBER: "2", labels.ONEOFF: "False"}
    assert config["labels"][labels.CONFIG_HASH] == app.services["web"].config_hash


def test_network_modes(app):
    assert container_config(app, app.services["db"], 1)[0]["network"] == "none"
    config, _ = container_config(app, app.services["sidecar"], 1, service_containers={"web": "abc"})
    assert config["network"] == "container:abc"


def test_config_hash_ignores_replicas_but_not_config(tmp_path):
    def hash_of(extra):
        return project(tmp_path, {"compose.yaml": f"services: {{web: {{image: busybox{extra}}}}}"}).services["web"].config_hash

    base = hash_of("")
    assert hash_of(", deploy: {replicas: 3}") == base
    assert hash_of(", scale: 2") == base
    assert hash_of(", environment: [A=1]") != base
    assert len(base) == 64


def test_dependency_order_and_cycles(tmp_path):
    p = project(tmp_path / "a", {"compose.yaml": """
        services:
          web: {image: busybox, depends_on: [api]}
          api: {image: busybox, depends_on: [db, cache]}
          db: {image: busybox}
          cache: {image: busybox}
    """})
    assert dependency_order(p) == ["db", "cache", "api", "web"]
    assert dependency_order(p, ["web"], with_deps=False) == ["web"]
    cyclic = project(tmp_path / "b", {"compose.yaml": "services: {a: {image: x, depends_on: [b]}, b: {image: x, depends_on: [a]}}"})
    with pytest.raises(ComposeError, match="dependency cycle detected: a -> b -> a"):
        dependency_order(cyclic)



def test_dependency_levels_group_what_may_be_created_and_started_together(tmp_path):
    p = project(tmp_path / "a", {"compose.yaml": """
        services:
          web: {image: busybox, depends_on: [api]}
          api: {image: busybox, depends_on: [db, cache]}
          db: {image: busybox}
          cache: {image: busybox, depends_on: [db]}
          worker: {image: busybox}
          side: {image: busybox, network_mode: "service:db"}
    """})
    assert dependency_levels(p, dependency_order(p)) == [["db", "worker"], ["cache", "side"], ["api"], ["web"]]
    # a dependency left out (up --no-deps) holds nothing up
    assert dependency_levels(p, ["api", "web"]) == [["api"], ["web"]]
    assert dependency_levels(p, []) == []

def _c(service, number, config_hash, status="running", oneoff=False):
    return Existing(id=f"{service}{number}", name=f"p-{service}-{number}", service=service, number=number,
                    config_hash=config_hash, status=status, oneoff=oneoff)


def test_plan_keeps_recreates_scales_and_finds_orphans(tmp_path):
    p = project(tmp_path, {"compose.yaml": "services: {web: {image: busybox}, db: {image: busybox, deploy: {replicas: 2}}}"})
    web, db = p.services["web"].config_hash, p.services["db"].config_hash
    existing = [_c("web", 1, "stale"), _c("db", 1, db), _c("db", 3, db), _c("old", 1, "x"), _c("web", 9, web, oneoff=True)]
    by = {sp.service.name: sp for sp in plan(p, existing, ["db", "web"], scale={})}
    assert [c.number for c in by["web"].recreate] == [1] and not by["web"].create
    assert [c.number for c in by["db"].keep] == [1, 3] and not by["db"].create
    up = {sp.service.name: sp for sp in plan(p, existing, ["db", "web"], scale={"db": 4, "web": 0})}
    assert up["db"].create == [2, 4]
    assert [c.number for c in up["web"].remove] == [1] and not up["web"].recreate
    down = {sp.service.name: sp for sp in plan(p, existing, ["db"], scale={"db": 1})}
    assert [c.number for c in down["db"].remove] == [3]
    forced = {sp.service.name: sp for sp in plan(p, existing, ["db"], scale={}, force_recreate=True)}
    assert [c.number for c in forced["db"].recreate] == [1, 3]
    assert [c.name for c in orphans(p, existing)] == ["p-old-1"]


def test_pyctl_run_imports_neither_yaml_nor_compose():
    code = ("import sys; from pyctl import main; main.build_parser('run'); main.build_parser('compose'); "
            "print(sorted(m for m in sys.modules if m == 'yaml' or m.startswith('pyctl.compose')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stop_levels_put_dependents_first(tmp_path):
    from pyctl.compose.engine import stop_levels

    p = project(tmp_path, {"compose.yaml": """
        services:
          web: {image: busybox, depends_on: [api]}
          worker: {image: busybox, depends_on: [db]}
          api: {image: busybox, depends_on: [db]}
          db: {image: busybox}
    """})
    existing = [_c("db", 1, ""), _c("api", 1, ""), _c("api", 2, ""), _c("web", 1, ""), _c("worker", 1, ""), _c("gone", 1, "")]
    assert [sorted(c.name for c in level) for level in stop_levels(p, existing)] == [
        ["p-gone-1", "p-web-1", "p-worker-1"], ["p-api-1", "p-api-2"], ["p-db-1"]]
