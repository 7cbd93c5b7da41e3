"""A wrong file gets one line naming the key path, never a traceback: the exact messages."""

import pytest
from pyctl.compose.errors import ComposeError

from tests.unit.cli.compose.helpers import project

CASES = [
    ("services: {web: {image: busybox, ports: [abc]}}", 'services.web.ports[0]: invalid port "abc"'),
    ("services: {web: {image: busybox, ports: ['80:99999']}}", 'services.web.ports[0]: invalid port "80:99999"'),
    ("services: {web: {image: busybox, ports: ['80/xtp']}}", 'services.web.ports[0]: invalid protocol "xtp" in "80/xtp"'),
    ("services: {web: {image: busybox, ports: [{published: 80}]}}", "services.web.ports[0]: target is required"),
    ("services: {web: {image: busybox, volumes: ['data']}}",
     'services.web.volumes[0]: invalid volume specification "data": the target must be an absolute path'),
    ("services: {web: {image: busybox, volumes: ['/a:/b:xx']}}", 'services.web.volumes[0]: invalid mode "xx" in "/a:/b:xx"'),
    ("services: {web: {image: busybox, volumes: [{type: nfs, target: /x}]}}",
     'services.web.volumes[0].type: unsupported mount type "nfs": want bind, volume or tmpfs'),
    ("services: {web: {image: 5}}", None),  # numbers are taken as strings, as compose does
    ("services: {web: {image: [a]}}", "services.web.image: must be a string, not a list"),
    ("services: {web: {image: busybox, privileged: maybe}}", "services.web.privileged: must be a boolean, not a string"),
    ("services: {web: {image: busybox, bogus: 1}}", "services.web: additional property 'bogus' is not allowed"),
    ("services: {web: {image: busybox, sysctls: {net.core.somaxconn: 1024}}}", None),
    ("services: {web: {image: busybox, sysctls: [net.core.somaxconn=1024]}}", None),
    ("services: {web: {image: busybox, stop_signal: SIGUSR1}}", None),
    ("services: {web: {image: busybox, logging: {driver: syslog}}}",
     'services.web.logging.driver: logging driver "syslog" is not supported: the daemon writes json-file logs'),
    ("services: {web: {image: busybox, healthcheck: {test: [true]}}}",
     "services.web.healthcheck.test[0]: must be a string, not a boolean"),
    ("services: {web: {image: busybox, healthcheck: {test: [RUN, x]}}}",
     "services.web.healthcheck.test: must start with CMD, CMD-SHELL or NONE"),
    ("services: {web: {image: busybox, healthcheck: {interval: 5 seconds}}}",
     'services.web.healthcheck.interval: invalid duration "5 seconds"'),
    ("services: {web: {image: busybox, depends_on: {db: {condition: service_ready}}}, db: {image: busybox}}",
     'services.web.depends_on.db.condition: invalid condition "service_ready": want one of service_started, '
     "service_healthy, service_completed_successfully"),
    ("services: {web: {image: busybox, depends_on: [db]}}",
     'service "web" depends on undefined service "db": invalid compose project'),
    ("services: {web: {image: busybox, networks: [back]}}",
     'service "web" refers to undefined network back: invalid compose project'),
    ("services: {web: {image: busybox, volumes: ['data:/data']}}",
     'services.web.volumes[0]: service "web" refers to undefined volume data: invalid compose project'),
    ("services: {web: {image: busybox, secrets: [key]}}",
     'service "web" refers to undefined secret key: invalid compose project'),
    ("services: {web: {build: {context: ., ssh: [default]}}}",
     "services.web.build.ssh: not supported by pyctl compose (context, dockerfile, args, target)"),
    ("services: {web: {command: echo}}", 'service "web" has neither an image nor a build context specified'),
    ("services: {web: {image: busybox, deploy: {replicas: 2}, container_name: one}}",
     "services.deploy.replicas: can't set container_name and web as container name must be unique: invalid compose project"),
    ("services: {web: {image: busybox, extra_hosts: [nohost]}}",
     'services.web.extra_hosts[0]: invalid extra host "nohost": want HOST:IP'),
    ("services: {web: {image: busybox, environment: [=x]}}", 'services.web.environment[0]: invalid entry "=x": want KEY=VALUE'),
    ("networks: {n: {driver: overlay}}\nservices: {web: {image: busybox}}",
     'networks.n.driver: network driver "overlay" is not supported: want bridge'),
    ("networks: {n: {ipam: {config: [{subnet: 10.1.0.0/24}, {subnet: 10.2.0.0/24}]}}}\nservices: {}",
     "networks.n.ipam.config: the daemon's networks take one subnet"),
    ("volumes: {v: {driver: nfs}}\nservices: {}", 'volumes.v.driver: volume driver "nfs" is not supported: want local'),
    ("secrets: {s: {environment: TOKEN}}\nservices: {}",
     "secrets.s.environment: not supported: only file-based secrets are (mounted read-only from the host)"),
    ("services: [web]", "services: must be a mapping, not a list"),
    ("nonsense: 1", "additional property 'nonsense' is not allowed"),
    ("- a list", "top-level object must be a mapping, not a list"),
    ("services: {web: {image: busybox, ports: ['${P:?set P}']}}",
     "error while interpolating services.web.ports[0]: required variable P is missing a value: set P"),
    ("services:\n  web: {image: busybox\n", "yaml: line 3: did not find expected ',' or '}'"),
]


@pytest.mark.parametrize(("text", "message"), CASES)
def test_errors(tmp_path, text, message):
    if message is None:
        project(tmp_path, {"compose.yaml": text})
        return
    with pytest.raises(ComposeError) as e:
        project(tmp_path, {"compose.yaml": text})
    path = str(tmp_path / "compose.yaml")
    assert str(e.value) in (message, f"{path}: {message}")
    assert "\n" not in str(e.value)


def test_too_big_a_file_is_refused_unread(tmp_path):
    from pyctl.compose.loader import MAX_FILE

    (tmp_path / "compose.yaml").write_text("#" * (MAX_FILE + 1))
    with pytest.raises(ComposeError, match="larger than"):
        project(tmp_path, {})


def test_yaml_tags_are_not_constructed(tmp_path):
    with pytest.raises(ComposeError, match="yaml"):
        project(tmp_path, {"compose.yaml": "services: !!python/object/apply:os.system ['true']"})


def test_scalars_are_read_as_yaml_1_2_as_docker_compose_reads_them(tmp_path):
    p = project(tmp_path, {"compose.yaml": """
        services:
          web:
            image: busybox
            ports: [22:22]
            environment: {A: yes, B: on, C: 0755, D: true, E: 1.5}
    """})
    web = p.services["web"].config
    assert web["ports"] == [{"mode": "ingress", "target": 22, "published": "22", "protocol": "tcp"}]
    assert web["environment"] == {"A": "yes", "B": "on", "C": "0755", "D": "true", "E": "1.5"}
