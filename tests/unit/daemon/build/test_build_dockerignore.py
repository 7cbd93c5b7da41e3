""".dockerignore, table-driven: moby/patternmatcher's cases and the Dockerfile reference's examples."""

import pytest
from pyrunc_dockerignore import IgnoreFileError, IgnoreMatcher, Pattern, clean_path, read_ignore_file

# (pattern, path, ignored): moby's MatchesOrParentMatches table (a pattern matching a parent matches too)
PATTERN_CASES = [
    ("**", "file", True),
    ("**", "dir/file", True),
    ("**/", "dir/file", True),
    ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True),
    ("dir/**", "dir/dir2/file", True),
    ("**/dir", "dir", True),
    ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("**/dir2/**", "dir/dir2/dir3/file", True),
    ("**file", "file", True),
    ("**file", "dir/file", True),
    ("**/file", "dir/file", True),
    ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True),
    ("**/file*", "dir/dir/file", True),
    ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True),
    ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True),
    ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False),
    ("**/*.txt", "file.txt", True),
    ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True),
    ("a**/*.txt", "a/dir/file.txt", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False),
    ("a/*.txt", "a/file.txt", True),
    ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False),
    ("a[b-d]e", "ace", True),
    ("a[b-d]e", "aae", False),
    ("a[^b-d]e", "aze", True),
    (".*", ".foo", True),
    (".*", "foo", False),
    ("abc.def", "abcdef", False),
    ("abc.def", "abc.def", True),
    ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True),
    ("abc?def", "abcdef", False),
    ("a\\\\", "a\\", True),
    ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True),
    ("**/foo/bar", "dir/dir2/foo/bar", True),
    ("abc/**", "abc", False),
    ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True),
    ("**/.foo", ".foo", True),
    ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True),
    ("a(b)c/def", "a(b)c/xyz", False),
    ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    ("fileutils.go", "fileutils.go", True),
    ("*.go", "fileutils.go", True),
    ("*.go", "pkg/fileutils.go", False),
    ("pkg", "pkg/fileutils.go", True),  # a directory's pattern covers what is in it
    ("pkg/*", "pkg/a/b/c.go", True),
    ("docs", "docsy", False),
]


@pytest.mark.parametrize("pattern, path, ignored", PATTERN_CASES)
def test_patternmatcher_cases(pattern, path, ignored):
    assert IgnoreMatcher([pattern]).ignores(path) is ignored


# the Dockerfile reference's .dockerignore examples: (file, {path: ignored})
REFERENCE_CASES = [
    (
        "# comment\n*/temp*\n*/*/temp*\ntemp?\n",
        {"somedir/temporary.txt": True, "somedir/temp": True, "somedir/subdir/temporary.txt": True,
         "tempa": True, "tempb": True, "temp": False, "temporary.txt": False, "a/b/c/temp": False},
    ),
    ("**/*.go\n", {"main.go": True, "a/b/c.go": True, "a/b/c.gox": False}),
    ("*.md\n!README.md\n", {"CHANGES.md": True, "README.md": False, "docs/a.md": False}),
    ("*.md\n!README*.md\nREADME-secret.md\n", {"README-secret.md": True, "README-public.md": False, "x.md": True}),
    ("*.md\nREADME-secret.md\n!README*.md\n", {"README-secret.md": False, "x.md": True}),
    ("/build\n./dist/\n", {"build/x": True, "dist/y": True, "src/build": False}),
    ("vendor\n!vendor/keep\n", {"vendor/a": True, "vendor/keep": False, "vendor/keep/sub": False}),
]


@pytest.mark.parametrize("text, expected", REFERENCE_CASES)
def test_reference_examples(text, expected):
    matcher = IgnoreMatcher(read_ignore_file(text))
    assert {path: matcher.ignores(path) for path in expected} == expected


def test_ignore_file_reading():
    text = "\ufeff# comment\n  spaced  \n\n!  ./kept/../keep\n/rooted\n #not a comment\n/\n"
    assert read_ignore_file(text) == ["spaced", "!keep", "rooted", "#not a comment", "/"]


def test_dockerfile_and_dockerignore_are_always_sent():
    matcher = IgnoreMatcher.for_build(["*", "!src"], dockerfile="docker/Dockerfile.prod")
    assert not matcher.ignores(".dockerignore")
    assert not matcher.ignores("docker/Dockerfile.prod")
    assert matcher.ignores("docker/other") and not matcher.ignores("src/main.py")
    assert not IgnoreMatcher.for_build(["tmp"]).patterns[-1].exclusion  # nothing added when not needed


def test_root_is_never_ignored_and_paths_are_cleaned():
    matcher = IgnoreMatcher(["**"])
    assert not matcher.ignores(".") and matcher.ignores("./a/../b")


def test_walk_descends_only_where_an_exclusion_may_reinclude():
    matcher = IgnoreMatcher(["vendor", "!vendor/keep", "node_modules"])
    assert matcher.may_keep_below("vendor") and not matcher.may_keep_below("node_modules")


def test_bad_patterns():
    with pytest.raises(IgnoreFileError, match='illegal exclusion pattern: "!"'):
        IgnoreMatcher(["!"])
    with pytest.raises(IgnoreFileError, match="syntax error in pattern"):
        IgnoreMatcher(["a[b"])


@pytest.mark.parametrize(
    "path, cleaned",
    [("", "."), ("a//b/", "a/b"), ("./a/./b", "a/b"), ("a/../..", ".."), ("/../a", "/a"), ("//a", "/a")],
)
def test_clean_path_is_gos(path, cleaned):
    assert clean_path(path) == cleaned


def test_pattern_exclusion_text():
    pattern = Pattern.compile("!a/*.txt")
    assert (pattern.text, pattern.exclusion) == ("a/*.txt", True)
