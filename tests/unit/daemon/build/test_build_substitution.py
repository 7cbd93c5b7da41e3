"""Variable substitution (BuildKit's shell lexer rules) and ARG/ENV scoping (the Dockerfile reference's
examples), per instruction."""

import pytest
from pyruncd.build import instructions as ins
from pyruncd.build.dockerfile import parse_dockerfile
from pyruncd.build.errors import DockerfileParseError
from pyruncd.build.expand import SubstitutionError, substitute
from pyruncd.build.scope import PROXY_ARGS, StageScope, platform_args, resolve_global_scope

ENV = {"A": "a", "EMPTY": "", "SPACED": "x y", "PATH_": "/home/tux/book/book.tar.bz2", "STAR": "a*b"}


@pytest.mark.parametrize(
    "word, text",
    [
        ("$A", "a"),
        ("${A}", "a"),
        ("pre${A}post", "preapost"),
        ("$A/b", "a/b"),
        ("$UNSET", ""),
        ("${UNSET:-word}", "word"),
        ("${EMPTY:-word}", "word"),
        ("${EMPTY-word}", ""),
        ("${UNSET-word}", "word"),
        ("${A:-word}", "a"),
        ("${A:+word}", "word"),
        ("${EMPTY:+word}", ""),
        ("${EMPTY+word}", "word"),
        ("${UNSET+word}", ""),
        ("${UNSET:-${A}}", "a"),
        ("${UNSET:-a b}", "a b"),
        ("${A?}", "a"),
        ("'$A'", "$A"),
        ('"$A"', "a"),
        ('"a\\"b"', 'a"b'),
        ('"\\$A"', "$A"),
        ('"a\\b"', "a\\b"),  # in double quotes only " $ and the escape char can be escaped
        ("\\$A", "$A"),
        ("a\\ b", "a b"),
        ("$", "$"),
        ("a$", "a$"),
        ("$1", ""),
        ("'a'\"b\"c", "abc"),
        # the reference's pattern modifiers, on its example path
        ("${PATH_#*/}", "home/tux/book/book.tar.bz2"),
        ("${PATH_##*/}", "book.tar.bz2"),
        ("${PATH_%.*}", "/home/tux/book/book.tar"),
        ("${PATH_%%.*}", "/home/tux/book/book"),
        ("${PATH_/tux/wilber}", "/home/wilber/book/book.tar.bz2"),
        ("${PATH_//book/B}", "/home/tux/B/B.tar.bz2"),
        ("${PATH_#nomatch}", "/home/tux/book/book.tar.bz2"),
        ("${STAR#a\\*}", "b"),
        ("${UNSET%x}", ""),
    ],
)
def test_substitution(word, text):
    assert substitute(word, ENV).text == text


def test_escape_character_backtick():
    assert substitute("`$A \\x", ENV, escape="`").text == "$A \\x"


def test_words_split_after_substitution_but_not_inside_quotes():
    assert substitute("$SPACED c", ENV).words == ("x", "y", "c")
    assert substitute('"$SPACED" c', ENV).words == ("x y", "c")
    assert substitute("a\\ b c", ENV).words == ("a b", "c")


def test_used_and_unset_names():
    result = substitute("$A ${UNSET:-x} $EMPTY", ENV)
    assert (result.used, result.unset) == ({"A", "EMPTY"}, {"UNSET"})


def test_heredoc_bodies_keep_quotes():
    assert substitute("echo '$A' \"$A\"", ENV, process_quotes=False).text == "echo 'a' \"a\""


@pytest.mark.parametrize(
    "word, message",
    [
        ("${A", "syntax error: missing '}'"),
        ("${A:-x", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:x}", "syntax error: bad substitution"),
        ("${A:x}", "unsupported modifier \\(:x\\) in substitution"),
        ("${A/x", "syntax error: missing '/' in"),
        ("${A#\\q}", "invalid pattern \\(\\\\q\\) in substitution: invalid escape"),
        ("${UNSET:?must be set}", "UNSET: must be set"),
        ("${UNSET?}", "UNSET: is not allowed to be unset"),
        ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
        ("'abc", "unexpected end of statement while looking for matching single-quote"),
        ('"abc', "unexpected end of statement while looking for matching double-quote"),
    ],
)
def test_substitution_errors(word, message):
    with pytest.raises(SubstitutionError, match=f'failed to process "{word.replace("$", "[$]")[:3]}.*{message}'):
        substitute(word, ENV)


def stage_scope(text, build_args=None, image_env=None):
    dockerfile = parse_dockerfile(text)
    build_args = build_args or {}
    scope = resolve_global_scope(dockerfile.global_args, build_args, automatic={})
    stage_scope = StageScope(global_scope=scope, build_args=build_args, image_env=image_env)
    return [stage_scope.apply(i) for i in dockerfile.stages[-1].instructions], stage_scope


def test_global_args_reach_from_but_not_the_stage_until_redeclared():
    text = "ARG VERSION=latest\nFROM busybox:$VERSION\nRUN echo\nWORKDIR /$VERSION\nARG VERSION\nWORKDIR /$VERSION\n"
    results, scope = stage_scope(text)
    assert [r.instruction.path for r in results if isinstance(r.instruction, ins.Workdir)] == ["/", "/latest"]
    assert scope.arg_values == {"VERSION": "latest"}


def test_build_arg_overrides_default_and_global():
    text = "ARG V=global\nFROM x\nARG V\nARG W=default\nUSER $V:$W\n"
    results, _ = stage_scope(text, {"V": "cli", "W": "cli-w"})
    assert results[-1].instruction.user == "cli:cli-w"
    assert results[-1].used == {"V", "W"}


def test_arg_default_uses_earlier_args_of_the_same_instruction():
    results, scope = stage_scope("FROM x\nARG A=1 B=${A}2\n")
    assert scope.arg_values == {"A": "1", "B": "12"}
    assert results[0].instruction.declarations[1].default == "12"


def test_env_overrides_arg_and_is_visible_afterwards():
    text = "FROM x\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\nWORKDIR /$CONT_IMG_VER\n"
    results, scope = stage_scope(text, {"CONT_IMG_VER": "v2.0.1"})
    assert results[-1].instruction.path == "/v2.0.1"
    results, scope = stage_scope(text)
    assert results[-1].instruction.path == "/v1.0.0"
    assert scope.env == {"CONT_IMG_VER": "v1.0.0"}


def test_env_in_one_instruction_sees_the_values_before_it():
    text = "FROM x\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n"
    _, scope = stage_scope(text)
    assert scope.env == {"abc": "bye", "def": "hello", "ghi": "bye"}


def test_image_env_is_visible():
    results, _ = stage_scope("FROM x\nWORKDIR $GOPATH/src\n", image_env={"GOPATH": "/go"})
    assert results[0].instruction.path == "/go/src"


def test_proxy_args_reach_run_without_declaration():
    _, scope = stage_scope("FROM x\nARG A=1\n", {"HTTP_PROXY": "http://p", "OTHER": "x"})
    assert scope.run_environment() == {"HTTP_PROXY": "http://p", "A": "1"}
    assert scope.arg_values == {"A": "1"}  # the cache key and history see only declared ARGs
    assert {"HTTP_PROXY", "http_proxy", "NO_PROXY", "all_proxy"} <= PROXY_ARGS


def test_platform_args_need_redeclaring_in_a_stage():
    dockerfile = parse_dockerfile("FROM x\nWORKDIR /$TARGETARCH\nARG TARGETARCH\nWORKDIR /$TARGETARCH\n")
    scope = resolve_global_scope((), {}, automatic=platform_args("linux/arm64/v8"))
    stage = StageScope(global_scope=scope, build_args={})
    paths = [stage.apply(i).instruction for i in dockerfile.stages[0].instructions]
    assert (paths[0].path, paths[2].path) == ("/", "/arm64")
    assert platform_args("linux/arm64/v8")["TARGETVARIANT"] == "v8"


def test_which_instructions_substitute():
    text = """FROM x
ENV P=80 D=/data U=me S=SIGTERM F=file
RUN echo $P
CMD echo $P
ENTRYPOINT ["echo", "$P"]
EXPOSE $P ${P}/udp
VOLUME $D "$D/x"
LABEL "k$P"="v$P"
COPY --chown=$U --chmod=644 $F* $D/
ADD --checksum=$S $F /
STOPSIGNAL $S
RUN --mount=type=cache,target=$D/cache true
COPY <<EOF <<'RAW' /
$U
EOF
$U
RAW
"""
    results, _ = stage_scope(text)
    run, cmd, entrypoint, expose, volume, label, copy, add, stop, mount, heredocs = [r.instruction for r in results[1:]]
    assert (run.argv, cmd.argv, entrypoint.argv) == (("echo $P",), ("echo $P",), ("echo", "$P"))
    assert expose.ports == ("80", "80/udp")
    assert volume.paths == ("/data", "/data/x")
    assert (label.labels[0].key, label.labels[0].value) == ("k80", "v80")
    assert (copy.chown, copy.chmod, copy.sources, copy.destination) == ("me", "644", ("file*",), "/data/")
    assert (add.checksum, stop.signal, mount.mounts) == ("SIGTERM", "SIGTERM", ("type=cache,target=/data/cache",))
    assert [h.content for h in heredocs.inline_sources] == ["me\n", "$U\n"]


def test_substitution_error_names_the_line():
    with pytest.raises(DockerfileParseError, match="line 3: failed to process"):
        stage_scope("FROM x\nENV A=1\nWORKDIR ${A\n")
