"""Dockerfile text -> typed instructions: BuildKit's parser through the `dockerfile` package, our rules on top.
Cases from the Dockerfile reference (parser directives, heredocs, forms, flags) and BuildKit's error words."""

import pytest
from pyruncd.build import instructions as ins
from pyruncd.build.dockerfile import parse_dockerfile, parse_trigger
from pyruncd.build.errors import DockerfileError, DockerfileParseError


def only(text):
    """The instructions of a one-stage Dockerfile after `FROM x`."""
    return parse_dockerfile("FROM x\n" + text).stages[0].instructions


def one(text):
    (instruction,) = only(text)
    return instruction


def test_every_instruction_kind_with_its_line():
    text = """# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS build
RUN echo hi
CMD ["sh"]
ENTRYPOINT ["/bin/init"]
LABEL a=b
EXPOSE 80
ENV A=1
ADD a /a
COPY b /b
VOLUME /v
USER 1000
WORKDIR /w
ONBUILD RUN true
STOPSIGNAL SIGINT
HEALTHCHECK NONE
SHELL ["/bin/sh", "-c"]
MAINTAINER me
"""
    dockerfile = parse_dockerfile(text)
    assert dockerfile.syntax == "docker/dockerfile:1"
    assert dockerfile.escape == "\\"
    assert [a.declarations for a in dockerfile.global_args] == [(ins.ArgDeclaration(name="BASE", default="busybox"),)]
    (stage,) = dockerfile.stages
    assert stage.base == ins.From(line=3, original="FROM ${BASE} AS build", image="${BASE}", stage_name="build")
    kinds = [type(i) for i in stage.instructions]
    assert kinds == [ins.Run, ins.Cmd, ins.Entrypoint, ins.Label, ins.Expose, ins.Env, ins.Add, ins.Copy, ins.Volume,
                     ins.User, ins.Workdir, ins.Onbuild, ins.Stopsignal, ins.Healthcheck, ins.Shell, ins.Maintainer]
    assert [i.line for i in stage.instructions] == list(range(4, 20))
    assert [i.keyword for i in stage.instructions][:3] == ["RUN", "CMD", "ENTRYPOINT"]


def test_shell_and_exec_forms():
    run_shell, run_exec, cmd_bad_json = only('RUN echo "$HOME"\nRUN ["echo", "a\\"b"]\nCMD [\'single\']\n')
    assert (run_shell.argv, run_shell.shell_form) == (('echo "$HOME"',), True)
    assert (run_exec.argv, run_exec.shell_form) == (("echo", 'a"b'), False)
    # not valid JSON: the reference says it is the shell form
    assert (cmd_bad_json.argv, cmd_bad_json.shell_form) == (("['single']",), True)


def test_line_continuations_and_comments_inside_them():
    run = one("RUN apt-get update && \\\n# a comment in the middle\n    apt-get install -y x\n")
    assert run.argv == ("apt-get update &&     apt-get install -y x",)
    assert run.line == 2


def test_escape_directive_backtick():
    dockerfile = parse_dockerfile("# escape=`\nFROM x\nRUN dir c:\\ `\n  /s\n")
    assert dockerfile.escape == "`"
    assert dockerfile.stages[0].instructions[0].argv == ("dir c:\\   /s",)


@pytest.mark.parametrize("first_line", ["# a comment", "# unknowndirective=value", "", "FROM y"])
def test_directives_end_at_the_first_other_line(first_line):
    dockerfile = parse_dockerfile(first_line + "\n# escape=`\nFROM x\n")
    assert dockerfile.escape == "\\"


def test_directives_are_case_insensitive_and_not_repeated():
    assert parse_dockerfile("#ESCAPE = `\nFROM x\n").escape == "`"
    with pytest.raises(DockerfileParseError, match="line 1: only one syntax parser directive can be used"):
        parse_dockerfile("# syntax=a\n# syntax=b\nFROM x\n")


def test_invalid_escape_directive():
    with pytest.raises(DockerfileParseError, match="line 1: invalid escape token 'x' does not match ` or"):
        parse_dockerfile("# escape=x\nFROM x\n")


def test_heredocs_run_and_copy():
    run, copy, chomped, two = only(
        "RUN <<EOF\necho hi\necho there\nEOF\n"
        "COPY <<EOT /x\ncontent $A\nEOT\n"
        'RUN <<-"EOF" cat > /y\n\tx\n\tEOF\n'
        "RUN python3 <<EOF1 && cat 3<<EOF2\na\nEOF1\nb\nEOF2\n"
    )
    assert run.argv == ("<<EOF",) and run.heredocs == (ins.Heredoc(name="EOF", content="echo hi\necho there\n"),)
    assert copy.sources == () and copy.destination == "/x"
    assert copy.inline_sources == (ins.Heredoc(name="EOT", content="content $A\n"),)
    (heredoc,) = chomped.heredocs
    assert (heredoc.chomp, heredoc.expand, heredoc.body()) == (True, False, "x\n")
    assert [(h.name, h.fd, h.content) for h in two.heredocs] == [("EOF1", 0, "a\n"), ("EOF2", 3, "b\n")]


def test_copy_and_add_flags():
    copy, add = only(
        "COPY --from=build --chown=1:1 --chmod=755 --link a b /dst/\n"
        "ADD --keep-git-dir=true --checksum=sha256:abc https://x/y.tar /y\n"
    )
    assert (copy.from_stage, copy.chown, copy.chmod, copy.link) == ("build", "1:1", "755", True)
    assert (copy.sources, copy.destination) == (("a", "b"), "/dst/")
    assert (add.keep_git_dir, add.checksum, add.sources) == (True, "sha256:abc", ("https://x/y.tar",))


def test_copy_json_form_keeps_spaces():
    assert one('COPY ["a b", "/c d/"]\n').sources == ("a b",)


def test_run_flags():
    run = one("RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/t --network=none echo\n")
    assert run.mounts == ("type=cache,target=/root/.cache", "type=tmpfs,target=/t")
    assert (run.network, run.argv) == ("none", ("echo",))


def test_from_platform_and_stage_name_case():
    (stage,) = parse_dockerfile("from --platform=$BUILDPLATFORM golang as Builder\n").stages
    assert (stage.base.platform, stage.base.image, stage.name) == ("$BUILDPLATFORM", "golang", "builder")


def test_healthcheck_forms_and_durations():
    shell, exec_form, none = only(
        "HEALTHCHECK --interval=1m30s --timeout=3s --start-period=500ms --retries=3 CMD curl -f http://x || exit 1\n"
        'HEALTHCHECK CMD ["/bin/check", "-q"]\n'
        "HEALTHCHECK NONE\n"
    )
    assert shell.test == ("CMD-SHELL", "curl -f http://x || exit 1")
    assert (shell.interval, shell.timeout, shell.start_period, shell.retries) == (90.0, 3.0, 0.5, 3)
    assert exec_form.test == ("CMD", "/bin/check", "-q") and exec_form.interval is None
    assert none.test == ("NONE",)


def test_env_and_label_both_forms():
    new, old, label = only('ENV A=1 B="two words"\nENV C 3 4\nLABEL "com.x"=y z=\n')
    assert [(p.key, p.value) for p in new.variables] == [("A", "1"), ("B", '"two words"')]
    assert [(p.key, p.value) for p in old.variables] == [("C", "3 4")]
    assert [(p.key, p.value) for p in label.labels] == [('"com.x"', "y"), ("z", "")]


def test_arg_declarations():
    arg = one('ARG A="x y" B C=$A\n')
    assert arg.declarations == (
        ins.ArgDeclaration(name="A", default='"x y"'),
        ins.ArgDeclaration(name="B", default=None),
        ins.ArgDeclaration(name="C", default="$A"),
    )


def test_volume_forms_and_onbuild_trigger():
    json_volume, shell_volume, onbuild = only('VOLUME ["/a", "/b"]\nVOLUME /c /d\nonbuild run echo hi\n')
    assert (json_volume.paths, json_volume.json_form) == (("/a", "/b"), True)
    assert shell_volume.paths == ("/c", "/d")
    assert onbuild.trigger == "run echo hi"
    assert parse_trigger(onbuild.trigger) == ins.Run(line=1, original="run echo hi", argv=("echo hi",), shell_form=True)


@pytest.mark.parametrize(
    "text, message",
    [
        ("FROM x\nRUN a\nFOO bar\n", "dockerfile parse error on line 3: unknown instruction: FOO"),
        ("FROM x\nCOPY --nope=1 a b\n", "dockerfile parse error on line 2: Unknown flag: nope"),
        ("FROM x\nCOPY --from x a b\n", "line 2: Missing a value on flag: from"),
        ("FROM x\nCOPY --link=maybe a b\n", "line 2: Expecting boolean value for flag link, not: maybe"),
        ("FROM x\nCOPY --chown=1 --chown=2 a b\n", "line 2: Duplicate flag specified: chown"),
        ("FROM x\nCOPY a\n", "line 2: COPY requires at least two arguments, but only one was provided. Destination"),
        ("FROM x\nCOPY a <<EOF\nx\nEOF\n", "line 2: COPY cannot accept a heredoc as a destination"),
        ("FROM x\n\n# c\nENV A\n", "line 4: ENV must have two arguments"),
        ("FROM x\nRUN <<EOF\nhi\n", "line 2: unterminated heredoc"),
        ("RUN x\n", "line 1: no build stage in current context"),
        ("FROM x AS 1a\n", 'line 1: invalid name for build stage: "1a", name can\'t start with a number'),
        ("FROM a b\n", "line 1: FROM requires either one or three arguments"),
        ("FROM x\nUSER\n", "line 2: USER requires exactly one argument"),
        ("FROM x\nEXPOSE\n", "line 2: EXPOSE requires at least one argument"),
        ("FROM x\nSHELL /bin/sh -c\n", "line 2: SHELL requires the arguments to be in JSON form"),
        ("FROM x\nONBUILD ONBUILD RUN a\n", "line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM x\nONBUILD FROM a\n", "line 2: FROM isn't allowed as an ONBUILD trigger"),
        ("FROM x\nHEALTHCHECK NONE x\n", "line 2: HEALTHCHECK NONE takes no arguments"),
        ("FROM x\nHEALTHCHECK RUN a\n", 'line 2: Unknown type "RUN" in HEALTHCHECK \\(try CMD\\)'),
        ("FROM x\nHEALTHCHECK --interval=10us CMD a\n", 'line 2: Interval "interval" cannot be less than 1ms'),
        ("FROM x\nHEALTHCHECK --interval=5x CMD a\n", 'line 2: time: invalid duration "5x"'),
        ("FROM x\nHEALTHCHECK --retries=-1 CMD a\n", "line 2: --retries cannot be negative"),
        ("FROM x\nVOLUME [\"\"]\n", "line 2: VOLUME specified can not be an empty string"),
    ],
)
def test_errors_name_the_line(text, message):
    with pytest.raises(DockerfileParseError, match=message):
        parse_dockerfile(text)


@pytest.mark.parametrize(
    "text, message",
    [("", "the Dockerfile cannot be empty"), ("# only\n\n", "the Dockerfile cannot be empty"),
     ("ARG A\n", "dockerfile contains no stages to build")],
)
def test_files_without_stages(text, message):
    with pytest.raises(DockerfileError, match=message):
        parse_dockerfile(text)


def test_parse_error_carries_line_and_instruction():
    with pytest.raises(DockerfileParseError) as caught:
        parse_dockerfile("FROM x\nRUN a\nCOPY --bad a b\n")
    assert (caught.value.line, caught.value.instruction) == (3, "COPY")


def test_stages_split_at_from():
    dockerfile = parse_dockerfile("ARG V=1\nFROM a AS one\nRUN x\nFROM one\nRUN y\nRUN z\n")
    assert [(s.index, s.name, len(s.instructions)) for s in dockerfile.stages] == [(0, "one", 1), (1, None, 2)]
