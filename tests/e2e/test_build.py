"""pyctl build end to end: each instruction's effect in `inspect` and `run`, multi-stage with --target, the
cache (a hit gives the same id; a changed source or build arg rebuilds from that step), a failing RUN's
words, exit code and no leftovers, .dockerignore, and one Dockerfile compared with dockerd 20.10's classic
builder (DOCKER_BUILDKIT=0).
"""

import io
import json
import os
import signal
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.harness.build_compare import CONFIG_FIELDS, SOURCE_HASH, assert_build_left_nothing, context
from tests.harness.busybox_daemon import busybox_daemon, inspect, wait_for
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.pyruncd import VENV_BIN

REPO = Path(__file__).resolve().parents[2]
BUSYBOX_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)


def build(d, path: Path, *args: str, check: bool = True):
    return d.pyctl("build", *args, str(path), check=check)


def built_id(result) -> str:
    return result.stdout.split("Successfully built ")[1].split()[0]


def config(d, name: str) -> dict:
    return inspect(d, name)["Config"]


def run(d, image: str, *cmd: str) -> str:
    return d.pyctl("run", "--rm", image, *cmd).stdout


def test_metadata_instructions_set_the_config_and_the_history(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
ARG GREETING=hello
ENV A=b C="d e"
LABEL maintainer=me "two words"="x y"
EXPOSE 80 53/udp
USER 1000:1000
WORKDIR /app
WORKDIR sub
VOLUME /data
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo child
ENTRYPOINT ["/bin/echo"]
CMD ["$GREETING", "world"]
""")
    result = build(d, path, "-t", "meta:1")
    assert "Step 1/14 : FROM busybox" in result.stdout and "Step 14/14 : " in result.stdout
    assert "Successfully tagged meta:1" in result.stdout
    c = config(d, "meta:1")
    assert "A=b" in c["Env"] and "C=d e" in c["Env"]
    assert c["Labels"] == {"maintainer": "me", "two words": "x y"}
    assert c["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert c["User"] == "1000:1000" and c["WorkingDir"] == "/app/sub"
    assert c["Volumes"] == {"/data": {}} and c["StopSignal"] == "SIGUSR1"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Retries": 2}
    assert c["OnBuild"] == ["RUN echo child"]
    assert c["Entrypoint"] == ["/bin/echo"] and c["Cmd"] == ["$GREETING", "world"]
    history = d.pyctl("history", "--no-trunc", "meta:1").stdout
    assert "/bin/sh -c #(nop)  ENV A=b C=d e" in history
    assert "/bin/sh -c #(nop) WORKDIR /app/sub" in history
    assert '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/echo"]' in history
    assert run(d, "meta:1") == "$GREETING world\n"
    d.pyctl("rmi", "meta:1")


def test_run_copy_and_shell_forms(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
ARG WHO=build
COPY a.txt /files/
COPY dir /files/dir
COPY --chown=1000:50 --chmod=600 a.txt /owned
RUN echo "ran by $WHO" > /files/ran && ls /files/dir > /files/listing
SHELL ["/bin/sh", "-ec"]
RUN echo shell form changed
CMD cat /files/a.txt /files/ran /files/listing
""", **{"a.txt": "A\n", "dir__one": "1", "dir__two": "2"})
    result = build(d, path, "-t", "runs", "--build-arg", "WHO=test")
    assert " ---> Running in " in result.stdout and "shell form changed\n" in result.stdout
    assert run(d, "runs") == "A\nran by test\none\ntwo\n"
    assert run(d, "runs", "stat", "-c", "%u:%g %a", "/owned") == "1000:50 600\n"
    assert config(d, "runs")["Cmd"] == ["/bin/sh", "-ec", "cat /files/a.txt /files/ran /files/listing"]
    d.pyctl("rmi", "runs")


def test_add_extracts_a_local_tar(d, tmp_path):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tf:
        info = tarfile.TarInfo("inside/file.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"hi\n"))
    (tmp_path / "archive.tar.gz").write_bytes(data.getvalue())
    path = context(tmp_path, "FROM busybox\nADD archive.tar.gz /opt/\nCOPY archive.tar.gz /kept/\n")
    build(d, path, "-t", "added")
    assert run(d, "added", "cat", "/opt/inside/file.txt") == "hi\n"
    assert run(d, "added", "ls", "/kept") == "archive.tar.gz\n"
    d.pyctl("rmi", "added")


def test_onbuild_triggers_run_in_the_child_build_and_are_not_passed_on(d, tmp_path):
    build(d, context(tmp_path / "parent", "FROM busybox\nONBUILD COPY f /f\nONBUILD ENV T=1\n"), "-t", "parent")
    result = build(d, context(tmp_path / "child", "FROM parent\nCMD cat /f\n", f="from the child\n"), "-t", "child")
    assert "# Executing 2 build triggers" in result.stdout
    assert run(d, "child") == "from the child\n"
    assert "T=1" in config(d, "child")["Env"] and not config(d, "child").get("OnBuild")
    d.pyctl("rmi", "child", "parent")


def test_multi_stage_with_target_builds_only_what_it_needs(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox AS base
RUN echo made in base > /made

FROM busybox AS unused
RUN false

FROM busybox AS final
COPY --from=base /made /copied
CMD ["cat", "/copied"]

FROM final AS after
RUN false
""")
    result = build(d, path, "--target", "final", "-t", "staged")
    assert "FROM busybox AS unused" not in result.stdout and "after" not in result.stdout
    assert run(d, "staged") == "made in base\n"
    d.pyctl("rmi", "staged")


def test_a_rebuild_uses_the_cache_and_a_change_rebuilds_from_its_step(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
ARG V=1
RUN echo "v=$V" > /v
COPY src.txt /src.txt
RUN cat /v /src.txt > /both
""", **{"src.txt": "one\n"})
    first = build(d, path, "-t", "cached")
    again = build(d, path, "-t", "cached")
    assert built_id(again) == built_id(first)
    assert again.stdout.count(" ---> Using cache") == 4 and " ---> Running in " not in again.stdout
    (path / "src.txt").write_text("two\n")
    os.utime(path / "src.txt", (1, 1))
    changed = build(d, path, "-t", "cached")
    assert built_id(changed) != built_id(first)
    assert changed.stdout.count(" ---> Using cache") == 2  # ARG and the first RUN; COPY on are made again
    assert run(d, "cached", "cat", "/both") == "v=1\ntwo\n"
    os.utime(path / "src.txt", (2, 2))  # a new mtime alone is no change
    assert built_id(build(d, path, "-t", "cached")) == built_id(changed)
    by_arg = build(d, path, "-t", "cached", "--build-arg", "V=2")
    assert by_arg.stdout.count(" ---> Using cache") == 1  # the ARG step; the RUN that sees V is not
    assert run(d, "cached", "cat", "/both") == "v=2\ntwo\n"
    no_cache = build(d, path, "--no-cache")
    assert " ---> Using cache" not in no_cache.stdout
    d.pyctl("rmi", "cached")


def test_builder_prune_forgets_the_cache_and_keeps_tagged_images(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nENV PRUNED=1\nRUN echo x > /x\n")
    result = build(d, path, "-t", "kept")
    base, env_step, built = [line.split()[1] for line in result.stdout.splitlines()
                             if line.startswith(" ---> ") and " " not in line.removeprefix(" ---> ")]
    result = d.pyctl("builder", "prune", "-f")
    assert "Deleted build cache objects:" in result.stdout and "Total reclaimed space:" in result.stdout
    images = set(d.pyctl("images", "-q").stdout.split())
    assert {base, built} <= images and env_step not in images
    assert " ---> Using cache" not in build(d, path, "-t", "kept").stdout
    d.pyctl("rmi", "kept")


def test_a_failing_run_stops_the_build_in_dockers_words(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo before\nRUN echo failing && exit 3\nRUN echo never\n")
    result = build(d, path, "-t", "failed", check=False)
    assert result.returncode == 3
    assert result.stderr.strip() == "The command '/bin/sh -c echo failing && exit 3' returned a non-zero code: 3"
    assert "failing\n" in result.stdout and "never" not in result.stdout
    assert d.pyctl("inspect", "failed", check=False).returncode != 0


def test_ctrl_c_of_the_client_cancels_the_build_and_leaves_nothing(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo started && sleep 60\n")
    client = subprocess.Popen([str(VENV_BIN / "pyctl"), "build", "-t", "interrupted", str(path)], env=d.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "started" not in seen:
            line = client.stdout.readline()
            assert line, client.stderr.read()
            seen += line
        client.send_signal(signal.SIGINT)
        assert client.wait(30) == 130
    finally:
        client.kill()
        client.wait()
    wait_for(lambda: d.pyctl("ps", "-aq").stdout.split() == [] and not list((d.root / "tmp").iterdir()))
    assert d.pyctl("inspect", "interrupted", check=False).returncode != 0


def test_a_daemon_killed_mid_build_leaves_nothing_after_its_restart(tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo started && sleep 60\n")
    with busybox_daemon() as killed:
        snapshots = sorted(os.listdir(killed.root / "snapshots"))
        client = subprocess.Popen([str(VENV_BIN / "pyctl"), "build", str(path)], env=killed.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            while "started" not in client.stdout.readline():
                assert client.poll() is None
            killed.proc.kill()
            killed.proc.wait()
        finally:
            client.kill()
            client.wait()
        killed.start()
        wait_for(lambda: killed.pyctl("ps", "-aq").stdout.split() == [], timeout=30)
        assert sorted(os.listdir(killed.root / "snapshots")) == snapshots
        assert list((killed.root / "tmp").iterdir()) == []


def test_parse_errors_come_before_any_step(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nFOO bar\n")
    result = build(d, path, check=False)
    assert result.returncode == 1 and "Step" not in result.stdout
    assert result.stderr.strip() == ("Error response from daemon: dockerfile parse error on line 2: "
                                     "unknown instruction: FOO")


def test_dockerignore_leaves_files_out_of_the_context(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nCOPY . /ctx\nCMD find /ctx -type f\n",
                   **{".dockerignore": "*.log\nsecret/**\n!secret/keep\n", "app.txt": "a", "debug.log": "x",
                      "secret__key": "k", "secret__keep": "kept"})
    build(d, path, "-t", "ignored")
    assert sorted(run(d, "ignored").split()) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/app.txt",
                                                 "/ctx/secret/keep"]
    result = build(d, context(tmp_path, "FROM busybox\nCOPY debug.log /\n"), check=False)
    assert result.returncode == 1 and '"/debug.log": not found' in result.stderr
    d.pyctl("rmi", "ignored")


def test_quiet_iidfile_and_a_dockerfile_on_stdin(d, tmp_path):
    iidfile = tmp_path / "iid"
    result = d.pyctl("build", "-q", "--iidfile", str(iidfile), "-", input="FROM busybox\nLABEL from=stdin\n")
    assert result.stdout.strip() == iidfile.read_text() and result.stdout.startswith("sha256:")
    assert config(d, iidfile.read_text())["Labels"] == {"from": "stdin"}
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tf:
        for name, text in (("Dockerfile", b"FROM busybox\nCOPY f /f\n"), ("f", b"from a tar\n")):
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tf.addfile(info, io.BytesIO(text))
    d.pyctl("build", "-t", "fromtar", "-", input=data.getvalue())
    assert run(d, "fromtar", "cat", "/f") == "from a tar\n"
    d.pyctl("rmi", "fromtar")


def test_a_hostile_context_tar_is_refused(d):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tf:
        info = tarfile.TarInfo("../escape")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    result = d.pyctl("build", "-", input=data.getvalue(), check=False)
    assert result.returncode == 1
    assert result.stderr.decode() == 'Error response from daemon: invalid build context: "../escape" is outside of the context\n'


COMPARED = {
    "app": """\
FROM busybox
ENV A=b
LABEL x=y
EXPOSE 8080
WORKDIR /app
COPY hello.txt ./
RUN cat hello.txt > copy.txt
USER 1000
CMD ["cat", "/app/copy.txt"]
""",
    "multi-stage": """\
FROM busybox AS build
WORKDIR /src
COPY hello.txt .
RUN tr a-z A-Z < hello.txt > out.txt

FROM busybox
COPY --from=build /src/out.txt /out.txt
ENTRYPOINT cat /out.txt
""",
    "args-and-config": """\
ARG BASE=busybox
FROM $BASE
ARG WHO=world
ENV GREETING="hello $WHO" EMPTY=
RUN echo "$GREETING" > /greeting
SHELL ["/bin/sh", "-xc"]
RUN test -s /greeting
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=10s --timeout=3s --retries=2 CMD cat /greeting
ONBUILD RUN echo child
ENTRYPOINT ["cat"]
CMD ["/greeting"]
""",
    "files": """\
FROM busybox
MAINTAINER someone
LABEL "with space"="a b" plain=c
EXPOSE 7000-7001/udp 80
WORKDIR /srv
WORKDIR data
COPY --chown=1000:1000 dir /srv/owned/
ADD hello.tar /srv/unpacked/
COPY dir/a dir/b ./both/
CMD stat -c '%n %u:%g %a %s' /srv/owned /srv/owned/a /srv/unpacked/inside.txt /srv/data/both/b | sort
""",
}


@pytest.fixture(scope="module")
def classic():
    if dockerd_available():
        pytest.skip(dockerd_available())
    with Dockerd() as docker:
        docker.load_image(BUSYBOX_TAR)
        yield docker


@pytest.mark.engines
@pytest.mark.parametrize("name", sorted(COMPARED))
def test_the_same_image_as_dockers_classic_builder(d, classic, tmp_path, name):
    path = context(tmp_path, COMPARED[name], **{"hello.txt": "hello\n", "dir__a": "a\n", "dir__b": "bb\n"})
    os.chmod(path / "dir" / "a", 0o600)
    with tarfile.open(path / "hello.tar", "w") as archive:
        archive.add(path / "hello.txt", arcname="inside.txt")
    args = ("--network", "none", "--build-arg", "WHO=you", "-t", f"compared-{name}")
    ours = build(d, path, *args)
    theirs = subprocess.run(classic.docker_argv("build", *args, str(path)), env={**classic.env, "DOCKER_BUILDKIT": "0"},
                            capture_output=True, text=True, timeout=300)
    assert theirs.returncode == 0, theirs.stderr
    their_config = json.loads(classic.docker("inspect", f"compared-{name}").stdout)[0]["Config"]
    their_history = classic.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}",
                                   f"compared-{name}").stdout.decode().splitlines()
    their_run = classic.docker("run", "--rm", f"compared-{name}").stdout.decode()
    steps = [line for line in ours.stdout.splitlines() if line.startswith("Step ")]
    assert steps == [line for line in theirs.stdout.splitlines() if line.startswith("Step ")]
    our_config = config(d, f"compared-{name}")
    for field in CONFIG_FIELDS:
        assert (our_config.get(field) or None) == (their_config.get(field) or None), field
    assert run(d, f"compared-{name}") == their_run
    # but busybox's own line; COPY's and ADD's source hash is docker's own tarsum, ours the content digest
    ours_history = SOURCE_HASH.sub(r"\1:<hash>", d.pyctl("history", "--no-trunc", f"compared-{name}").stdout)
    for created_by in their_history[:-1]:
        assert SOURCE_HASH.sub(r"\1:<hash>", created_by) in ours_history, created_by
    d.pyctl("rmi", f"compared-{name}")
