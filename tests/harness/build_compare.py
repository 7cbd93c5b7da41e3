"""What the build tests share to compare `pyctl build` with dockerd 20.10's classic builder: a context
written from strings, the classic build itself, the parts of an image that must match, and the check
that a build left nothing behind.

    path = context(tmp_path, "FROM busybox\\n...", **{"src__main.sh": "..."})   # "__" is a "/"
    theirs = classic_build(dockerd, path, "-t", "name")                          # DOCKER_BUILDKIT=0
"""

import re
import subprocess
from pathlib import Path

# COPY's and ADD's source hash in `created_by` is docker's own tarsum, ours the content digest
SOURCE_HASH = re.compile(r"(file|dir|multi):[0-9a-f]{64}\b")
CONFIG_FIELDS = ("Env", "Labels", "ExposedPorts", "WorkingDir", "User", "Cmd", "Entrypoint", "Volumes",
                 "StopSignal", "Healthcheck", "OnBuild", "Shell")


def context(tmp_path: Path, dockerfile: str, **files: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        path = tmp_path / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def assert_build_left_nothing(d) -> None:
    """No container, no mount under the daemon's root and no scratch files (emptied just after the
    build's last reply, hence the wait) once a build has ended, however it ended."""
    from tests.harness.busybox_daemon import wait_for

    wait_for(lambda: list((d.root / "tmp").iterdir()) == [])
    assert d.pyctl("ps", "-aq").stdout.split() == [], "a build left a container"
    assert str(d.root) not in Path("/proc/self/mountinfo").read_text(), "a build left a mount"


def classic_build(dockerd, path: Path, *args: str) -> subprocess.CompletedProcess:
    """`docker build` through dockerd's classic builder; the result, checked by the caller."""
    return subprocess.run(dockerd.docker_argv("build", *args, str(path)), env={**dockerd.env, "DOCKER_BUILDKIT": "0"},
                          capture_output=True, text=True, timeout=300)


def without_source_hashes(text: str) -> str:
    return SOURCE_HASH.sub(r"\1:<hash>", text)
