"""The build context: directory and tar contexts, hostile tars refused, links kept as links, sizes bounded,
COPY sources resolved inside the context, and the content digest that cache keys use."""

import io
import os
import tarfile

import pytest
from pyrunc_dockerignore import IgnoreMatcher
from pyruncd.build.context import ContextLimits, EntryKind, read_directory_context, read_tar_context
from pyruncd.build.errors import ContextError
from pyruncd.build.sources import resolve_in_context, resolve_sources, source_digest


def make_tree(root):
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    (root / "Dockerfile").write_text("FROM busybox\n")
    os.symlink("/etc/passwd", root / "host-link")
    os.symlink("src", root / "src-link")
    os.chmod(root / "a.txt", 0o640)
    return root


def tar_of(members):
    """A tar stream from (name, kind, data-or-link) tuples."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            info.mode = 0o755 if kind == "dir" else 0o644
            info.linkname = payload or ""
            archive.addfile(info)
    buffer.seek(0)
    return buffer


def test_directory_context_keeps_links_as_links(tmp_path):
    context = read_directory_context(make_tree(tmp_path / "ctx"))
    link = context.entry("host-link")
    assert (link.kind, link.link_target) == (EntryKind.SYMLINK, "/etc/passwd")
    assert context.entry("a.txt").mode == 0o640 and context.entry("src").kind is EntryKind.DIRECTORY
    assert context.read_bytes("Dockerfile", max_bytes=100) == b"FROM busybox\n"


def test_directory_context_applies_dockerignore_and_keeps_the_dockerfile(tmp_path):
    root = make_tree(tmp_path / "ctx")
    (root / ".dockerignore").write_text("*\n!src\nsrc/pkg\n")
    matcher = IgnoreMatcher.for_build(["*", "!src", "src/pkg"])
    context = read_directory_context(root, ignore=matcher)
    assert sorted(context.entries) == [".dockerignore", "Dockerfile", "src", "src/main.py"]


def test_reincluded_files_bring_their_ignored_parents(tmp_path):
    root = make_tree(tmp_path / "ctx")
    context = read_directory_context(root, ignore=IgnoreMatcher(["src", "!src/pkg/mod.py", "*.txt"]))
    assert sorted(path for path in context.entries if path.split("/")[0] == "src") == ["src", "src/pkg", "src/pkg/mod.py"]
    assert context.entry("src/pkg").kind is EntryKind.DIRECTORY and "a.txt" not in context


def test_a_file_swapped_after_indexing_is_not_read(tmp_path):
    root = make_tree(tmp_path / "ctx")
    context = read_directory_context(root)
    os.unlink(root / "a.txt")
    os.symlink("/etc/passwd", root / "a.txt")
    with pytest.raises(ContextError, match='cannot read "a.txt"'):
        context.open("a.txt")
    (root / "b.new").write_text("replaced")  # a new inode while the old one still exists
    os.replace(root / "b.new", root / "b.txt")
    with pytest.raises(ContextError, match='"b.txt" changed while the build context was read'):
        context.open("b.txt")


def test_limits(tmp_path):
    root = make_tree(tmp_path / "ctx")
    with pytest.raises(ContextError, match="build context is larger than the maximum of 10 bytes"):
        read_directory_context(root, limits=ContextLimits(max_bytes=10))
    with pytest.raises(ContextError, match="more than the maximum of 3 entries"):
        read_directory_context(root, limits=ContextLimits(max_entries=3))
    with pytest.raises(ContextError, match="larger than the maximum of 4 bytes"):
        read_tar_context(tar_of([("big", "file", b"12345")]), tmp_path, limits=ContextLimits(max_bytes=4))


def test_tar_context(tmp_path):
    stream = tar_of([
        ("./", "dir", None), ("app/", "dir", None), ("app/run.sh", "file", b"#!/bin/sh\n"),
        ("deep/er/file", "file", b"x"), ("app/hard", "hard", "app/run.sh"), ("abs-link", "sym", "/etc/passwd"),
        ("fifo", "fifo", None),
    ])
    context = read_tar_context(stream, tmp_path)
    assert sorted(context.entries) == ["abs-link", "app", "app/hard", "app/run.sh", "deep", "deep/er", "deep/er/file"]
    assert context.entry("abs-link").link_target == "/etc/passwd"  # kept, resolved only inside the context
    assert context.open("app/hard").read() == b"#!/bin/sh\n"
    assert not any(path.is_symlink() for path in tmp_path.rglob("*"))


def test_tar_context_with_dockerignore(tmp_path):
    stream = tar_of([("keep", "file", b"1"), ("drop.log", "file", b"2")])
    context = read_tar_context(stream, tmp_path, ignore=IgnoreMatcher(["*.log"]))
    assert sorted(context.entries) == ["keep"]


@pytest.mark.parametrize(
    "members, message",
    [
        ([("../escape", "file", b"x")], 'invalid build context: "../escape" is outside of the context'),
        ([("a/../../escape", "file", b"x")], 'is outside of the context'),
        ([("/etc/passwd", "file", b"x")], 'invalid build context: "/etc/passwd" is outside of the context'),
        ([("up", "sym", "../../etc")], 'invalid build context: invalid symlink "up" -> "../../etc"'),
        ([("a/up", "sym", "../../x")], 'invalid symlink "a/up" -> "../../x"'),
        ([("hard", "hard", "/etc/shadow")], 'invalid build context: invalid hardlink "hard" -> "/etc/shadow"'),
        ([("hard", "hard", "../x")], 'invalid hardlink "hard" -> "../x"'),
        ([("hard", "hard", "missing")], 'invalid hardlink "hard" -> "missing"'),
        ([("link", "sym", "/etc"), ("link/passwd", "file", b"x")], '"link/passwd" is below the symlink "link"'),
        ([("f", "file", b"x"), ("f/g", "file", b"x")], '"f/g" is below the file "f"'),
        ([("d/", "dir", None), ("d", "file", b"x")], '"d" is both a directory and a non-directory'),
    ],
)
def test_hostile_tars_are_refused(tmp_path, members, message):
    with pytest.raises(ContextError, match=message.replace("(", "\\(").replace(")", "\\)")):
        read_tar_context(tar_of(members), tmp_path / "staging")


def test_not_a_tar(tmp_path):
    with pytest.raises(ContextError, match="build context is not a valid tar stream"):
        read_tar_context(io.BytesIO(b"not a tar at all" * 100), tmp_path)


def test_sources_resolve_inside_the_context(tmp_path):
    context = read_directory_context(make_tree(tmp_path / "ctx"))
    assert [(s.name, s.target) for s in resolve_sources(context, ["*.txt", "./src/", "/Dockerfile"])] == [
        ("a.txt", "a.txt"), ("b.txt", "b.txt"), ("src", "src"), ("Dockerfile", "Dockerfile")]
    assert [(s.name, s.target) for s in resolve_sources(context, ["src-link/main.py", "."])] == [
        ("src-link/main.py", "src/main.py"), (".", ".")]
    assert [s.name for s in resolve_sources(context, ["src/*/*.py", "[ab].txt", "?.txt"])] == [
        "src/pkg/mod.py", "a.txt", "b.txt", "a.txt", "b.txt"]


@pytest.mark.parametrize(
    "source, message",
    [
        ("../x", "forbidden path outside the build context: ../x ()"),
        ("src/../../x", "forbidden path outside the build context: src/../../x ()"),
        ("missing", 'failed to compute cache key: "/missing": not found'),
        ("*.nothing", 'failed to compute cache key: "/\\*.nothing": not found'),
        ("host-link", 'failed to compute cache key: "/host-link": not found'),  # /etc/passwd of the context
        ("a.txt/x", 'failed to compute cache key: "/a.txt/x": not found'),
    ],
)
def test_source_errors(tmp_path, source, message):
    context = read_directory_context(make_tree(tmp_path / "ctx"))
    with pytest.raises(ContextError, match=message.replace("(", "\\(").replace(")", "\\)")):
        resolve_sources(context, [source])


def test_symlinks_resolve_within_the_context_only(tmp_path):
    root = tmp_path / "ctx"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("the context's own")
    for name, target in (("abs", "/etc/passwd"), ("loop", "loop"), ("dotdot", "etc/../../../etc")):
        os.symlink(target, root / name)
    context = read_directory_context(root)
    assert resolve_in_context(context, "abs") == "etc/passwd"
    assert resolve_in_context(context, "dotdot/passwd") == "etc/passwd"
    with pytest.raises(ContextError, match="too many levels of symbolic links"):
        resolve_in_context(context, "loop")


def test_digest_follows_content_mode_and_owner_not_mtime(tmp_path):
    root = make_tree(tmp_path / "ctx")

    def digest(*sources):
        context = read_directory_context(root)
        return source_digest(context, resolve_sources(context, list(sources)))

    first = digest("src", "a.txt")
    os.utime(root / "src" / "main.py", (1, 1))
    assert digest("src", "a.txt") == first
    (root / "src" / "main.py").write_text("print(2)\n")
    changed = digest("src", "a.txt")
    assert changed != first
    os.chmod(root / "a.txt", 0o600)
    assert digest("src", "a.txt") != changed
    assert digest("src-link") != digest("src")  # named differently, copied under another name
    assert digest(".") != digest("src")


def test_digest_of_a_tar_context_matches_the_same_files(tmp_path):
    members = [("d/", "dir", None), ("d/f", "file", b"data"), ("d/l", "sym", "f")]
    one = read_tar_context(tar_of(members), tmp_path / "one")
    two = read_tar_context(tar_of(members), tmp_path / "two")
    assert source_digest(one, resolve_sources(one, ["d"])) == source_digest(two, resolve_sources(two, ["d"]))
    other = read_tar_context(tar_of([("d/", "dir", None), ("d/f", "file", b"data"), ("d/l", "sym", "g")]),
                             tmp_path / "three")
    assert source_digest(other, resolve_sources(other, ["d"])) != source_digest(one, resolve_sources(one, ["d"]))
