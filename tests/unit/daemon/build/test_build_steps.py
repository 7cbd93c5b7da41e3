"""The executor's pure parts: each config instruction's effect and its `created_by` in the classic builder's
words, RUN's argv and history line, the cache key's inputs, what a step container's upper dir loses, and
COPY/ADD written into a root file system (dest rules, --chown/--chmod, links kept, archives extracted)."""

import io
import os
import tarfile

import pytest
from pyruncd.build import instructions as ins
from pyruncd.build.cache import StepKey
from pyruncd.build.config_steps import StageConfig, apply_config_instruction, go_duration
from pyruncd.build.context import read_directory_context
from pyruncd.build.copy_step import copy_sources
from pyruncd.build.dockerfile import parse_dockerfile
from pyruncd.build.run_step import run_argv, run_created_by, strip_mountpoints
from pyruncd.build.sources import resolve_sources
from pyruncd.errors import InvalidArgument
from pyruncd.images.commit import RunConfig

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="sets owners")


def instructions(text: str) -> tuple[ins.Instruction, ...]:
    return parse_dockerfile("FROM scratch\n" + text).stages[0].instructions


def apply_all(text: str, config: StageConfig | None = None) -> tuple[StageConfig, list[str]]:
    config = config or StageConfig(run=RunConfig())
    shown = []
    for instruction in instructions(text):
        config, created_by = apply_config_instruction(config, instruction)
        shown.append(created_by)
    return config, shown


def test_created_by_is_the_classic_builders():
    _, shown = apply_all('ENV A=b\nLABEL x=y\nEXPOSE 80\nUSER 1000\nWORKDIR /app\nVOLUME /data /logs\n'
                         'STOPSIGNAL SIGKILL\nCMD echo hi\nENTRYPOINT ["/bin/sh"]\nSHELL ["/bin/bash", "-c"]\n'
                         'ARG V=1 W\nONBUILD RUN true\nHEALTHCHECK --interval=30s --retries=3 CMD true\n')
    assert shown == [
        "/bin/sh -c #(nop)  ENV A=b",
        "/bin/sh -c #(nop)  LABEL x=y",
        "/bin/sh -c #(nop)  EXPOSE 80",
        "/bin/sh -c #(nop)  USER 1000",
        "/bin/sh -c #(nop) WORKDIR /app",
        "/bin/sh -c #(nop)  VOLUME [/data /logs]",
        "/bin/sh -c #(nop)  STOPSIGNAL SIGKILL",
        '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo hi"]',
        '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh"]',
        "/bin/bash -c #(nop)  SHELL [/bin/bash -c]",
        "/bin/bash -c #(nop)  ARG V=1 W",
        "/bin/bash -c #(nop)  ONBUILD RUN true",
        '/bin/bash -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "true"] "30s" "0s" "0s" \'\\x03\'}',
    ]


def test_config_changes():
    config, _ = apply_all("ENV A=1 B=2\nENV A=3\nWORKDIR /a\nWORKDIR b/../c\nEXPOSE 8000-8001/udp 80\n"
                          "CMD [\"x\"]\nENTRYPOINT [\"y\"]\n")
    run = config.run
    assert run.env == ["A=3", "B=2"] and run.working_dir == "/a/c"
    assert run.exposed_ports == ["80/tcp", "8000/udp", "8001/udp"]
    assert run.cmd == ["x"] and run.entrypoint == ["y"]  # a CMD of this stage stays
    inherited = StageConfig(run=RunConfig(cmd=["from", "base"]))
    config, _ = apply_all("ENTRYPOINT [\"y\"]\n", inherited)
    assert config.run.cmd is None  # the base's CMD goes with a new ENTRYPOINT, as docker's


def test_bad_values_are_refused():
    for text in ("STOPSIGNAL NOPE\n", "EXPOSE eighty\n"):
        with pytest.raises(InvalidArgument):
            apply_all(text)


def test_go_durations():
    assert [go_duration(n * 10**9) for n in (0, 1, 30, 90, 3600)] == ["0s", "1s", "30s", "1m30s", "1h0m0s"]
    assert go_duration(1_500_000_000) == "1.5s"


def test_run_argv_and_created_by():
    config = StageConfig(run=RunConfig())
    shell_form, exec_form, script, fed = instructions(
        'RUN echo $A\nRUN ["echo", "x"]\nRUN <<EOF\necho one\nEOF\nRUN cat <<-"A" > /f\n\tx $B\n\tA\n')
    assert run_argv(config, shell_form) == ["/bin/sh", "-c", "echo $A"]
    assert run_argv(config, exec_form) == ["echo", "x"]
    # BuildKit's: a lone heredoc is a script file run as the command; others go to the shell with the line
    assert run_argv(config, script) == ["/bin/sh", "-c", "/dev/pipes/EOF"]
    assert run_argv(config, fed) == ["/bin/sh", "-c", 'cat <<-"A" > /f\n\tx $B\nA']
    assert run_created_by(["/bin/sh", "-c", "echo $A"], {}) == "/bin/sh -c echo $A"
    assert run_created_by(["/bin/sh", "-c", "x"], {"B": "2", "A": "1"}) == "|2 A=1 B=2 /bin/sh -c x"


def test_cache_keys_change_with_each_input():
    base = StepKey(parent="sha256:1", instruction="RUN x", inputs={"A": "1"}, sources="")
    variants = [StepKey(parent="sha256:2", instruction="RUN x", inputs={"A": "1"}),
                StepKey(parent="sha256:1", instruction="RUN y", inputs={"A": "1"}),
                StepKey(parent="sha256:1", instruction="RUN x", inputs={"A": "2"}),
                StepKey(parent="sha256:1", instruction="RUN x", inputs={"A": "1"}, sources="file:ab")]
    assert len({base.digest(), *(v.digest() for v in variants)}) == 5
    assert StepKey(parent="sha256:1", instruction="RUN x", inputs={"A": "1"}).digest() == base.digest()


def test_the_runtimes_mountpoints_stay_out_of_the_layer(tmp_path):
    (tmp_path / "etc").mkdir()
    for name in ("etc/hosts", "etc/resolv.conf", "etc/hostname"):
        (tmp_path / name).write_text("")
    for name in ("dev/pts", "proc", "sys"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "made").write_text("by the command")
    strip_mountpoints(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["made"]
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "passwd").write_text("changed")
    strip_mountpoints(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["etc", "made"]


def transfer(text: str) -> ins.FileTransfer:
    instruction = instructions(text)[0]
    assert isinstance(instruction, ins.FileTransfer)
    return instruction


def copy(tmp_path, text: str, workdir: str = "/"):
    context = read_directory_context(tmp_path / "ctx")
    instruction = transfer(text)
    (tmp_path / "scratch").mkdir(exist_ok=True)
    copy_sources(tmp_path / "root", context, resolve_sources(context, instruction.sources), instruction, workdir,
                 tmp_path / "scratch")


@pytest.fixture
def tree(tmp_path):
    ctx, root = tmp_path / "ctx", tmp_path / "root"
    (ctx / "dir" / "sub").mkdir(parents=True)
    (ctx / "a.txt").write_text("a")
    (ctx / "dir" / "sub" / "b.txt").write_text("b")
    os.symlink("/etc/passwd", ctx / "dir" / "link")
    os.chmod(ctx / "a.txt", 0o640)
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\nstaff:x:50:\n")
    return tmp_path


def test_copy_destination_rules(tree):
    copy(tree, "COPY a.txt /file\n")
    copy(tree, "COPY a.txt /into/\n")
    copy(tree, "COPY dir /tree\n")
    copy(tree, "COPY a.txt rel.txt\n", workdir="/work")
    root = tree / "root"
    assert (root / "file").read_text() == "a" and (root / "into" / "a.txt").read_text() == "a"
    assert (root / "tree" / "sub" / "b.txt").read_text() == "b" and not (root / "tree" / "dir").exists()
    assert os.readlink(root / "tree" / "link") == "/etc/passwd"  # a link is copied as a link, never followed
    assert (root / "work" / "rel.txt").read_text() == "a"
    assert oct((root / "file").stat().st_mode & 0o777) == oct(0o640)
    with pytest.raises(InvalidArgument, match="must be a directory and end with a /"):
        copy(tree, "COPY a.txt dir /many\n")


@root_only
def test_chown_and_chmod(tree):
    copy(tree, "COPY --chown=app:staff --chmod=751 a.txt /owned\n")
    copy(tree, "COPY --chown=app a.txt /primary\n")
    info, primary = (tree / "root" / "owned").stat(), (tree / "root" / "primary").stat()
    assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (1000, 50, 0o751)
    assert (primary.st_uid, primary.st_gid) == (1000, 1001)
    with pytest.raises(InvalidArgument, match="can't find uid for user nobody"):
        copy(tree, "COPY --chown=nobody a.txt /x\n")


def test_a_symlink_in_the_image_does_not_steer_a_write_out_of_the_root(tree):
    os.symlink("/", tree / "root" / "escape")
    copy(tree, "COPY a.txt /escape/tmp/out.txt\n")
    assert (tree / "root" / "tmp" / "out.txt").read_text() == "a"


def test_add_extracts_local_archives(tree):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as archive:
        info = tarfile.TarInfo("x/y.txt")
        info.size = 2
        archive.addfile(info, io.BytesIO(b"hi"))
    (tree / "ctx" / "a.tar.xz").write_bytes(data.getvalue())
    copy(tree, "ADD a.tar.xz /opt/\n")
    assert (tree / "root" / "opt" / "x" / "y.txt").read_text() == "hi"
    copy(tree, "COPY a.tar.xz /opt/\n")
    assert (tree / "root" / "opt" / "a.tar.xz").exists()
