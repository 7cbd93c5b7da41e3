"""--format and inspect -f against dockerd 20.10 and the docker CLI: the same volumes made on both,
then the same Go templates run over them, output compared byte for byte."""

import os

import pytest

from tests.harness.dockerd import Dockerd, available
from tests.harness.pyruncd import Pyruncd

pytestmark = [pytest.mark.skipif(bool(available()), reason=available() or "dockerd available")]

PREFIX = f"fmt{os.getpid()}"
VOLUMES = {f"{PREFIX}a": {"a": "1", "com.example.x": "y z"}, f"{PREFIX}b": {}}


@pytest.fixture(scope="module")
def both():
    ours, docker = Pyruncd(), Dockerd()
    try:
        ours.start()
        docker.start()
        for name, labels in VOLUMES.items():
            flags = [x for k, v in labels.items() for x in ("--label", f"{k}={v}")]
            ours.pyctl("volume", "create", *flags, name)
            docker.docker("volume", "create", *flags, name)
        yield ours, docker
    finally:
        docker.stop()
        ours.stop()


def _same(both, *args: str) -> str:
    ours, docker = both
    want = docker.docker(*args, check=False)
    got = ours.pyctl(*args, check=False)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout.decode()), (args, got.stderr)
    return got.stdout


@pytest.mark.parametrize("fmt", [
    "{{.Name}} {{.Driver}} {{.Scope}}",
    "{{.Labels}}",
    "{{json .Labels}}",
    "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}",
    '{{index .Labels "a"}}',
    "{{len .Labels}} {{if .Labels}}labelled{{else}}bare{{end}}",
    '{{printf "%-12s|%q" .Driver .Name}} {{upper .Driver}} {{lower .Scope}}',
    "{{with .Labels}}{{.a}}{{end}}",
    '{{range $k, $v := .Labels}}{{if eq $k "a"}}{{break}}{{end}}{{$k}}{{end}}x',
])
def test_volume_inspect_templates_as_docker(both, fmt):
    _same(both, "volume", "inspect", "-f", fmt, *VOLUMES)


@pytest.mark.parametrize("fmt", [
    "{{.Name}}\t{{.Driver}}",
    "table {{.Name}}\\t{{.Driver}}",
    "table {{.Driver}}\\t{{.Name}}\\t{{.Scope}}",
    '{{.Name}}: {{.Label "a"}} {{.Label "com.example.x"}}',  # (not .Labels: docker joins them in map order)
])
def test_volume_ls_formats_as_docker(both, fmt):
    _same(both, "volume", "ls", "--filter", f"name={PREFIX}", "--format", fmt)


def test_inspect_errors_as_docker(both):
    ours, docker = both
    want = docker.docker("volume", "inspect", "-f", "{{.Nope}}", f"{PREFIX}a", check=False)
    got = ours.pyctl("volume", "inspect", "-f", "{{.Nope}}", f"{PREFIX}a", check=False)
    assert got.returncode == want.returncode != 0
    assert 'map has no entry for key "Nope"' in got.stderr and "Template parsing error" in got.stderr


def test_volume_ls_table_laid_out_as_docker(both):
    """docker's tabwriter: columns at least 10 wide, 3 spaces of padding."""
    assert _same(both, "volume", "ls", "--filter", f"name={PREFIX}").startswith("DRIVER    VOLUME NAME\n")
    _same(both, "volume", "ls", "-q", "--filter", f"name={PREFIX}")
