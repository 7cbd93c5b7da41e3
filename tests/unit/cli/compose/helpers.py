"""Compose projects written to a temp dir and loaded, for the table-driven tests."""

import textwrap
from pathlib import Path

from pyctl.compose.project import Options, load


def write(d: Path, texts: dict[str, str]) -> None:
    for name, text in texts.items():
        path = d / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def project(d: Path, texts: dict[str, str], *, env: dict[str, str] | None = None, **options):
    """`texts`: file name -> YAML; `options`: project.Options' fields (files, profiles, project_name...)."""
    write(d, texts)
    return load(Options(cwd=str(d), environ=env or {}, **options))
