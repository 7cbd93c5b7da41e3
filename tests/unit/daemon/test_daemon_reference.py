import pytest
from pyruncd.errors import InvalidArgument
from pyruncd.reference import familiar, looks_like_id, parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, full, fam", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"),
    ("localhost/a/b:c", "localhost/a/b:c", "localhost/a/b:c"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
    (f"reg.io:443/x/y:t@{D}", f"reg.io:443/x/y:t@{D}", f"reg.io:443/x/y:t@{D}"),
    ("a__b/c-d.e", "docker.io/a__b/c-d.e:latest", "a__b/c-d.e:latest"),
])
def test_parse_normalizes(text, full, fam):
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar == fam


@pytest.mark.parametrize("text", [
    "", "Busybox", "busybox:", "busybox:-x", ":tag", "a//b", "busybox@sha256:abc", "/busybox", "a/-b",
    " busybox", "busybox:" + "x" * 129,
])
def test_parse_refuses(text):
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        parse(text)


def test_default_tag_can_be_empty_for_repositories():
    assert str(parse("busybox", default_tag="")) == "docker.io/library/busybox"
    assert familiar("docker.io/library/busybox@" + D) == "busybox@" + D


def test_ids():
    assert looks_like_id("a" * 64)
    assert looks_like_id("sha256:" + "b" * 64)
    assert not looks_like_id("a" * 12)
    assert not looks_like_id("busybox")
