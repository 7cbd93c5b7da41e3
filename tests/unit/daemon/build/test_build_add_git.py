"""Which ADD sources are git repositories, as BuildKit's gitutil.ParseGitRef tells them, and the password a
remote's URL may carry kept out of what is shown."""

import pytest
from pyruncd.build.add_git import GitSource, git_source, shown


@pytest.mark.parametrize(("source", "expected"), [
    ("https://example.com/org/repo.git", GitSource(remote="https://example.com/org/repo.git", ref="", subdir="")),
    ("https://example.com/org/repo.git#v1.2:docs/", GitSource(remote="https://example.com/org/repo.git", ref="v1.2",
                                                             subdir="docs")),
    ("git://127.0.0.1:9418/repo.git#main", GitSource(remote="git://127.0.0.1:9418/repo.git", ref="main", subdir="")),
    ("git@github.com:moby/buildkit.git#:frontend", GitSource(remote="git@github.com:moby/buildkit.git", ref="",
                                                             subdir="frontend")),
    ("ssh://git@example.com/repo", GitSource(remote="ssh://git@example.com/repo", ref="", subdir="")),
    ("github.com/moby/buildkit", GitSource(remote="https://github.com/moby/buildkit", ref="", subdir="")),
])
def test_git_sources(source, expected):
    assert git_source(source) == expected


@pytest.mark.parametrize("source", ["https://example.com/file.tar.gz", "http://example.com/repo", "src/",
                                    "file:///etc/passwd", "ext::sh -c touch% /tmp/x", "./repo.git"])
def test_what_is_not_a_git_source(source):
    assert git_source(source) is None


def test_a_password_is_not_shown():
    assert shown("https://me:secret@example.com:8443/r.git") == "https://me:xxxxx@example.com:8443/r.git"
    assert shown("git://example.com/r.git") == "git://example.com/r.git"
