"""Discovery, project names, .env and env_file, profiles, extends and include."""

import pytest
from pyctl.compose.errors import ComposeError

from tests.unit.cli.compose.helpers import project, write


def test_discovery_walks_up_and_prefers_compose_yaml(tmp_path):
    write(tmp_path, {"compose.yaml": "services: {a: {image: busybox}}",
                     "docker-compose.yml": "services: {b: {image: busybox}}", "sub/deeper/.keep": ""})
    p = project(tmp_path / "sub" / "deeper", {})
    assert list(p.services) == ["a"]
    assert p.working_dir == str(tmp_path)


def test_no_file_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="no configuration file provided: not found"):
        project(tmp_path, {})


@pytest.mark.parametrize(("options", "env", "file_name", "expected"), [
    ({}, {}, "", "myapp"),  # the directory, lower-cased
    ({"project_name": "Other.Name"}, {}, "", "othername"),
    ({}, {"COMPOSE_PROJECT_NAME": "from_env"}, "", "from_env"),
    ({}, {}, "named-in-file", "named-in-file"),
    ({"project_name": "flag"}, {"COMPOSE_PROJECT_NAME": "env"}, "file", "flag"),
])
def test_project_name(tmp_path, options, env, file_name, expected):
    d = tmp_path / "MyApp"
    text = (f"name: {file_name}\n" if file_name else "") + "services: {a: {image: busybox}}"
    assert project(d, {"compose.yaml": text}, env=env, **options).name == expected


def test_dotenv_feeds_interpolation_and_the_environment_wins(tmp_path):
    p = project(tmp_path, {".env": "TAG=1.0\nexport PORT='8080'\n# comment\nQUOTED=\"a b\"\n",
                           "compose.yaml": "services: {a: {image: 'busybox:${TAG}', environment: [P=$PORT, Q=$QUOTED]}}"},
                env={"TAG": "2.0"})
    assert p.services["a"].image == "busybox:2.0"
    assert p.services["a"].config["environment"] == {"P": "8080", "Q": "a b"}


def test_env_file_folded_into_environment(tmp_path):
    p = project(tmp_path, {"web.env": "A=from_file\nB=from_file\n",
                           "compose.yaml": """
                               services:
                                 a:
                                   image: busybox
                                   env_file: [web.env, {path: missing.env, required: false}]
                                   environment: {B: explicit, C: null}
                           """}, env={"C": "from_shell"})
    assert p.services["a"].config["environment"] == {"A": "from_file", "B": "explicit", "C": "from_shell"}
    assert "env_file" not in p.services["a"].config


PROFILES = """
services:
  web: {image: busybox}
  debug: {image: busybox, profiles: [debug]}
  tools: {image: busybox, profiles: [tools, debug]}
"""


@pytest.mark.parametrize(("profiles", "env", "enabled"), [
    ([], {}, ["web"]),
    (["debug"], {}, ["web", "debug", "tools"]),
    (["tools"], {}, ["web", "tools"]),
    ([], {"COMPOSE_PROFILES": "tools"}, ["web", "tools"]),
    (["*"], {}, ["web", "debug", "tools"]),
])
def test_profiles(tmp_path, profiles, env, enabled):
    p = project(tmp_path, {"compose.yaml": PROFILES}, env=env, profiles=profiles)
    assert list(p.services) == enabled
    assert sorted(p.disabled) == sorted({"web", "debug", "tools"} - set(enabled))


def test_a_dependency_in_a_disabled_profile_is_an_error(tmp_path):
    with pytest.raises(ComposeError) as e:
        project(tmp_path, {"compose.yaml": "services: {web: {image: busybox, depends_on: [db]}, "
                                           "db: {image: busybox, profiles: [db]}}"})
    assert str(e.value) == 'service "web" depends on service "db", whose profiles are not enabled'


def test_extends_same_file_chain_and_other_file(tmp_path):
    p = project(tmp_path, {
        "common.yaml": """
            services:
              base:
                image: busybox
                environment: {FROM: common}
                volumes: [./shared:/shared]
        """,
        "compose.yaml": """
            services:
              middle:
                extends: {file: common.yaml, service: base}
                environment: {MIDDLE: "1"}
              web:
                extends: middle
                command: echo hi
                environment: {FROM: web}
        """})
    web = p.services["web"].config
    assert web["image"] == "busybox"
    assert web["environment"] == {"FROM": "web", "MIDDLE": "1"}
    assert web["command"] == ["echo", "hi"]
    assert web["volumes"] == [{"type": "bind", "source": str(tmp_path / "shared"), "target": "/shared"}]
    assert "extends" not in web


@pytest.mark.parametrize(("text", "message"), [
    ("services: {a: {extends: a}}", "services.a: circular reference with extends: a -> a"),
    ("services: {a: {extends: b}, b: {extends: a}}", "services.a: circular reference with extends: a -> b -> a"),
    ("services: {a: {extends: nope}}", 'services.a.extends: cannot extend service "nope": no such service'),
])
def test_extends_errors(tmp_path, text, message):
    with pytest.raises(ComposeError) as e:
        project(tmp_path, {"compose.yaml": text})
    assert str(e.value) == message


def test_include_brings_services_networks_and_volumes_with_their_own_paths(tmp_path):
    p = project(tmp_path, {
        "db/compose.yaml": """
            services:
              db: {image: busybox, volumes: [./init:/init, dbdata:/var/lib/db], networks: [back]}
            networks: {back: {}}
            volumes: {dbdata: {}}
        """,
        "compose.yaml": """
            include: [db/compose.yaml]
            services:
              web: {image: busybox, depends_on: [db], networks: [back]}
        """})
    assert list(p.services) == ["web", "db"]
    assert p.services["db"].config["volumes"][0]["source"] == str(tmp_path / "db" / "init")
    assert p.networks["back"].name.endswith("_back") and p.volumes["dbdata"].name.endswith("_dbdata")


def test_include_conflict_and_cycle(tmp_path):
    with pytest.raises(ComposeError, match="services.web conflicts with imported resource"):
        project(tmp_path / "a", {"other.yaml": "services: {web: {image: other}}",
                                 "compose.yaml": "include: [other.yaml]\nservices: {web: {image: busybox}}"})
    with pytest.raises(ComposeError, match="include cycle"):
        project(tmp_path / "b", {"x.yaml": "include: [compose.yaml]\nservices: {x: {image: busybox}}",
                                 "compose.yaml": "include: [x.yaml]\nservices: {web: {image: busybox}}"})


def test_default_network_and_names(tmp_path):
    p = project(tmp_path / "app", {"compose.yaml": """
        services:
          web: {image: busybox}
          db: {image: busybox, networks: {back: {aliases: [database], ipv4_address: 10.9.0.5}}}
        networks:
          back: {ipam: {config: [{subnet: 10.9.0.0/24}]}, internal: true}
          ext: {external: true, name: shared}
        volumes:
          data: {}
          outside: {external: true}
    """})
    assert {k: n.name for k, n in p.networks.items()} == {"back": "app_back", "ext": "shared", "default": "app_default"}
    assert p.networks["back"].subnet == "10.9.0.0/24" and p.networks["back"].internal
    assert {k: v.name for k, v in p.volumes.items()} == {"data": "app_data", "outside": "outside"}
    assert p.services["db"].networks[0].aliases == ["database"]


def test_version_is_obsolete_and_ignored(tmp_path, capsys):
    p = project(tmp_path, {"compose.yaml": "version: '3.8'\nservices: {a: {image: busybox}}"})
    assert list(p.services) == ["a"]
    assert "the attribute `version` is obsolete, it will be ignored" in capsys.readouterr().err


def test_config_shows_networks_and_volumes_with_the_names_they_are_made_under(tmp_path):
    p = project(tmp_path / "app", {"compose.yaml": """
        services:
          a: {image: busybox, volumes: ["v:/v", "w:/w"]}
          b: {image: busybox, networks: [back, ext]}
        networks:
          back:
          ext: {external: true}
        volumes:
          v: {}
          w: {name: shared}
    """})
    assert p.tree["networks"] == {"back": {"name": "app_back"}, "ext": {"name": "ext", "external": True},
                                  "default": {"name": "app_default"}}
    assert p.tree["volumes"] == {"v": {"name": "app_v"}, "w": {"name": "shared"}}
