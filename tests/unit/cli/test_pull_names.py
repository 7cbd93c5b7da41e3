"""The names run/create print before pulling what is missing, and push -a's rule, as the docker CLI."""

import pytest
from pyctl.commands.registry import familiar, named


@pytest.mark.parametrize(("name", "shown"), [
    ("busybox", "busybox:latest"),
    ("busybox:1.36", "busybox:1.36"),
    ("docker.io/library/busybox", "busybox:latest"),
    ("library/busybox", "busybox:latest"),
    ("docker.io/me/app:v2", "me/app:v2"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest"),
    ("localhost/app", "localhost/app:latest"),
    ("reg.example/a/b@sha256:" + "0" * 64, "reg.example/a/b@sha256:" + "0" * 64),
])
def test_unable_to_find_names_the_reference_with_its_default_tag(name, shown):
    assert familiar(name) == shown


def test_named_means_a_tag_or_a_digest():
    assert not named("127.0.0.1:5000/busybox")
    assert named("127.0.0.1:5000/busybox:v2")
    assert named("busybox@sha256:" + "0" * 64)
