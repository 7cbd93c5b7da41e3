"""Stages: FROM and COPY --from references, --target, unused stages skipped, concurrent levels, and the
unused build-arg warning; RUN --mount specs."""

import pytest
from pyruncd.build.dockerfile import parse_dockerfile
from pyruncd.build.errors import DockerfileError, DockerfileParseError
from pyruncd.build.mounts import Mount, MountError, MountType, Sharing, mount_source_stage, parse_mount
from pyruncd.build.stages import copy_source, plan_build

MULTI = """ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest} AS base
RUN echo base
FROM golang AS unused
FROM base AS app
COPY --from=base /x /y
FROM scratch AS assets
COPY --from=nginx:alpine /etc/nginx /etc/nginx
FROM app
COPY --from=assets /etc /etc
COPY --from=1 /go /go
RUN --mount=type=cache,target=/c --mount=type=bind,from=assets,target=/a true
ARG USED
"""


def plan(text=MULTI, **options):
    return plan_build(parse_dockerfile(text), automatic_args={}, **options)


def test_dependency_graph_and_levels():
    built = plan(build_args={"TAG": "1.36"})
    by_label = {s.label: s for s in built.stages}
    assert list(by_label) == ["base", "unused", "app", "assets", "stage-4"]
    assert (by_label["base"].base_image, by_label["base"].base_stage) == ("busybox:1.36", None)
    assert (by_label["app"].base_image, by_label["app"].base_stage) == (None, 0)
    assert by_label["assets"].base_image is None and by_label["assets"].image_dependencies == {"nginx:alpine"}
    assert by_label["stage-4"].stage_dependencies == {1, 2, 3}
    assert built.levels == ((0, 1, 3), (2,), (4,))
    assert built.target == 4


def test_target_skips_unused_stages():
    built = plan(target="app")
    assert [s.label for s in built.stages] == ["base", "app"]
    assert built.levels == ((0,), (2,))


def test_target_is_case_insensitive_and_must_exist():
    assert plan(target="APP").target == 2
    with pytest.raises(DockerfileError, match='^target stage "nope" could not be found$'):
        plan(target="nope")


def test_independent_stages_share_a_level():
    text = "FROM a AS one\nFROM b AS two\nFROM c AS three\nFROM d\nCOPY --from=one / /\nCOPY --from=two / /\n"
    built = plan(text)
    assert built.levels == ((0, 1), (3,))
    assert [s.label for s in built.stages] == ["one", "two", "stage-3"]


def test_from_names_only_earlier_stages():
    built = plan("FROM later AS first\nFROM alpine AS later\n", target="first")
    assert built.stage(0).base_image == "later" and built.stage(0).base_stage is None


def test_copy_from_a_later_stage_and_cycles():
    built = plan("FROM a AS first\nCOPY --from=second / /\nFROM b AS second\n", target="first")
    assert [s.label for s in built.stages] == ["first", "second"]
    assert built.levels == ((1,), (0,))
    with pytest.raises(DockerfileError, match="circular dependency detected on stage: first"):
        plan("FROM a AS first\nCOPY --from=second / /\nFROM b AS second\nCOPY --from=first / /\n")
    with pytest.raises(DockerfileError, match="circular dependency detected on stage: self"):
        plan("FROM a AS self\nCOPY --from=self / /\n")


def test_copy_source_names_a_stage_an_index_or_an_image():
    dockerfile = parse_dockerfile("FROM a AS one\nFROM b\nCOPY --from=ONE / /\nCOPY --from=0 / /\n"
                                  "COPY --from=alpine:3 / /\nCOPY x /\n")
    first = dockerfile.stages[0]
    sources = [copy_source(dockerfile.stages, copy) for copy in dockerfile.stages[1].instructions]
    assert sources == [first, first, "alpine:3", None]


def test_global_args_in_from_and_platform():
    built = plan("ARG IMAGE=alpine\nARG P=linux/arm64\nFROM --platform=$P $IMAGE\n", build_args={"IMAGE": "debian"})
    assert (built.stage(0).base_image, built.stage(0).platform) == ("debian", "linux/arm64")


def test_stage_args_do_not_reach_from():
    built = plan("FROM a\nARG X=1\nFROM b${X}\n")
    assert built.stage(1).base_image == "b"


@pytest.mark.parametrize(
    "text, message",
    [
        ("ARG X\nFROM $X\n", "line 2: base name \\(\\$X\\) should not be blank"),
        ("FROM a\nFROM b\nCOPY --from=$X / /\n", "line 3: variable expansion is not supported for --from"),
        ("FROM a\nCOPY --from=5 / /\n", "line 2: invalid stage index 5"),
        ("FROM a AS x\nFROM b AS x\n", 'line 2: duplicate stage name "x"'),
        ("FROM a\nRUN --mount=from=$X,target=/x true\n", "line 2: 'from' doesn't support variable expansion"),
    ],
)
def test_stage_errors(text, message):
    with pytest.raises(DockerfileParseError, match=message):
        plan(text)


def test_unused_build_args_warning_in_dockers_words():
    built = plan(build_args={"USED": "1", "TAG": "x", "ZED": "1", "NOPE": "2", "HTTP_PROXY": "p"})
    assert built.warnings == ("[Warning] One or more build-args [NOPE ZED] were not consumed",)
    assert plan(build_args={"USED": "1"}).warnings == ()


def test_args_of_skipped_stages_are_not_consumed():
    built = plan("FROM a AS skipped\nARG ONLY_HERE\nFROM b\n", build_args={"ONLY_HERE": "1"})
    assert built.warnings == ("[Warning] One or more build-args [ONLY_HERE] were not consumed",)


def test_mount_specs():
    assert parse_mount("type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1") == Mount(
        type=MountType.CACHE, target="/root/.cache", cache_id="pip", sharing=Sharing.LOCKED, mode=0o755, uid=1,
        readonly=False,
    )
    assert parse_mount("target=/src").readonly  # bind mounts default to read-only
    assert not parse_mount("type=bind,target=/src,rw").readonly
    assert parse_mount("type=tmpfs,dst=/t,size=64m").size == 64 * 1024 * 1024
    assert parse_mount("type=secret,id=token,required").required
    assert mount_source_stage("type=bind,from=build,source=/out,target=/in") == "build"
    assert mount_source_stage("type=cache,target=/c") is None


@pytest.mark.parametrize(
    "spec, message",
    [
        ("type=volume,target=/x", 'unsupported mount type "volume"'),
        ("type=cache,target=/x,sharing=all", 'unsupported sharing value "all"'),
        ("type=bind,target=/x,mode=0700", 'mode not allowed for "bind" type mounts'),
        ("type=cache,target=/x,size=1m", "unexpected key 'size' for mount type 'cache'"),
        ("type=cache,target=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
        ("type=cache,target", "invalid field 'target' must be a key=value pair"),
        ("type=secret", "invalid secret mount. one of source, target required"),
        ("type=bind,target=/x,sharing=shared", "invalid cache sharing set for bind mount"),
        ("type=cache,target=/x,uid=me", "invalid value me for uid"),
    ],
)
def test_mount_errors(spec, message):
    with pytest.raises(MountError, match=message):
        parse_mount(spec)
