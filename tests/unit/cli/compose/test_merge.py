"""The Compose Specification's merge rules across -f files, a table of base + override -> result."""

import pytest

from tests.unit.cli.compose.helpers import project

BASE = """
services:
  web:
    image: busybox
    command: ["echo", "base"]
    entrypoint: ["/bin/sh", "-c"]
    environment: {A: "1", B: "2"}
    labels: [x=1]
    dns: [1.1.1.1]
    ports: ["8080:80", "9090:90"]
    volumes: ["data:/data", "/host:/host"]
    healthcheck: {test: ["CMD", "true"], interval: 5s}
    cap_add: [NET_ADMIN]
volumes:
  data: {}
  other: {}
"""

CASES = [
    ("mapping merges key by key", "services: {web: {environment: {B: '3', C: '4'}}}",
     "environment", {"A": "1", "B": "3", "C": "4"}),
    ("list form of a mapping merges too", "services: {web: {environment: [C=5]}}",
     "environment", {"A": "1", "B": "2", "C": "5"}),
    ("labels merge", "services: {web: {labels: {y: '2'}}}", "labels", {"x": "1", "y": "2"}),
    ("command is replaced", "services: {web: {command: echo over}}", "command", ["echo", "over"]),
    ("entrypoint is replaced", "services: {web: {entrypoint: [/x]}}", "entrypoint", ["/x"]),
    ("sequences append", "services: {web: {dns: [8.8.8.8]}}", "dns", ["1.1.1.1", "8.8.8.8"]),
    ("appending skips duplicates", "services: {web: {cap_add: [NET_ADMIN, SYS_TIME]}}",
     "cap_add", ["NET_ADMIN", "SYS_TIME"]),
    ("scalars are replaced", "services: {web: {image: busybox:2}}", "image", "busybox:2"),
    ("healthcheck.test is replaced, the rest merged", "services: {web: {healthcheck: {test: [CMD, 'false']}}}",
     "healthcheck", {"test": ["CMD", "false"], "interval": "5s"}),
    ("ports unique by ip, target, published, protocol", "services: {web: {ports: ['8080:80', '7070:70']}}",
     "ports", [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
               {"mode": "ingress", "target": 90, "published": "9090", "protocol": "tcp"},
               {"mode": "ingress", "target": 70, "published": "7070", "protocol": "tcp"}]),
    ("volumes unique by target: the override's entry wins", "services: {web: {volumes: ['other:/data:ro']}}",
     "volumes", [{"type": "volume", "target": "/data", "source": "other", "read_only": True},
                 {"type": "bind", "source": "/host", "target": "/host"}]),
]


@pytest.mark.parametrize(("why", "override", "key", "expected"), CASES, ids=[c[0] for c in CASES])
def test_merge(tmp_path, why, override, key, expected):
    p = project(tmp_path, {"compose.yaml": BASE, "over.yaml": override}, files=["compose.yaml", "over.yaml"])
    assert p.services["web"].config[key] == expected


def test_override_file_is_found_and_adds_services(tmp_path):
    p = project(tmp_path, {"compose.yaml": BASE, "compose.override.yaml": "services: {extra: {image: busybox}}"})
    assert list(p.services) == ["web", "extra"]
    assert [f.rsplit("/", 1)[1] for f in p.config_files] == ["compose.yaml", "compose.override.yaml"]


def test_later_files_relative_paths_resolve_against_the_project_directory(tmp_path):
    p = project(tmp_path, {"compose.yaml": BASE, "sub/over.yaml": "services: {web: {volumes: ['./d:/d']}}"},
                files=["compose.yaml", "sub/over.yaml"])
    assert {"type": "bind", "source": str(tmp_path / "d"), "target": "/d"} in p.services["web"].config["volumes"]
