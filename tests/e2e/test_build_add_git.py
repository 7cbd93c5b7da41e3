"""ADD of a git repository, as BuildKit does it (the classic builder has no such ADD: it downloads the URL as
a file), offline against a repository this test serves on 127.0.0.1 with `git daemon` (git://) and as
dumb HTTP (http://...repo.git): the default branch, a tag, a branch's subdir, a commit, --keep-git-dir,
the step cached by the commit the ref resolves to, and what is refused (a ref the remote lacks, a subdir
that is a link out of the tree)."""

import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.harness.build_compare import assert_build_left_nothing, context
from tests.harness.busybox_daemon import busybox_daemon

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed (apt-get install git)"),
]

GIT_ENV = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True,
                          timeout=60).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """A work tree and its bare repository, served by git daemon and by a dumb HTTP server."""

    def __init__(self, root: Path) -> None:
        self.work, self.bare = root / "work", root / "served" / "repo.git"
        self.work.mkdir(parents=True)
        git(self.work, "init", "-q", "-b", "main")
        (self.work / "a.txt").write_text("main a\n")
        (self.work / "sub").mkdir()
        (self.work / "sub" / "b.txt").write_text("main b\n")
        (self.work / "run.sh").write_text("#!/bin/sh\necho ran\n")
        (self.work / "run.sh").chmod(0o755)
        os.symlink("/etc", self.work / "escape")
        git(self.work, "add", "-A")
        git(self.work, "commit", "-qm", "one")
        git(self.work, "tag", "-a", "v1", "-m", "v1")
        self.first = git(self.work, "rev-parse", "HEAD")
        git(self.work, "checkout", "-qb", "dev")
        (self.work / "sub" / "b.txt").write_text("dev b\n")
        git(self.work, "commit", "-qam", "dev")
        git(self.work, "checkout", "-q", "main")
        git(self.work.parent, "clone", "-q", "--bare", str(self.work), str(self.bare))
        self.port, self.http_port = _free_port(), _free_port()
        self.daemon = subprocess.Popen(
            ["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1", f"--port={self.port}",
             f"--base-path={self.bare.parent}", str(self.bare.parent)], env=GIT_ENV, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)  # git runs git-daemon as its child: one group
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(self.bare.parent))  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.http_port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.update()
        deadline = time.monotonic() + 10
        while subprocess.run(["git", "ls-remote", self.git_url], env=GIT_ENV, capture_output=True).returncode:
            assert time.monotonic() < deadline, "git daemon did not come up"
            time.sleep(0.1)

    @property
    def git_url(self) -> str:
        return f"git://127.0.0.1:{self.port}/repo.git"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/repo.git"

    def update(self) -> None:
        git(self.bare, "update-server-info")  # what dumb HTTP clients read

    def commit_on_main(self, text: str) -> None:
        (self.work / "a.txt").write_text(text)
        git(self.work, "commit", "-qam", "more")
        git(self.work, "push", "-q", str(self.bare), "main")
        self.update()

    def stop(self) -> None:
        os.killpg(self.daemon.pid, signal.SIGKILL)
        self.daemon.wait()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    served = Served(tmp_path_factory.mktemp("git"))
    yield served
    served.stop()


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)


def run(d, image: str, script: str) -> str:
    return d.pyctl("run", "--rm", "--network", "none", image, "sh", "-c", script).stdout


def test_add_checks_out_refs_subdirs_and_commits(d, repo, tmp_path):
    path = context(tmp_path, f"""\
FROM busybox
ADD {repo.git_url} /main
ADD {repo.git_url}#v1 /tag/
ADD {repo.http_url}#dev:sub /devsub
ADD {repo.git_url}#{repo.first} /commit
ADD --keep-git-dir=true {repo.git_url}#main /kept
""")
    d.pyctl("build", "-t", "addgit:1", str(path))
    out = run(d, "addgit:1", "cat /main/a.txt /main/sub/b.txt /tag/sub/b.txt /devsub/b.txt /commit/a.txt; "
                            "ls /devsub; stat -c '%a %u' /main/run.sh; readlink /main/escape; /main/run.sh; "
                            "ls -d /main/.git /kept/.git 2>&1; true")
    assert out.splitlines() == ["main a", "main b", "main b", "dev b", "main a", "b.txt", "755 0", "/etc", "ran",
                                "ls: /main/.git: No such file or directory", "/kept/.git"]


def test_the_step_is_cached_by_the_commit_its_ref_resolves_to(d, repo, tmp_path):
    path = context(tmp_path, f"FROM busybox\nADD {repo.git_url}#main /src\nRUN cat /src/a.txt\n")
    d.pyctl("build", "-t", "addgitcache:1", str(path))
    again = d.pyctl("build", "-t", "addgitcache:1", str(path)).stdout
    assert again.count("Using cache") == 2
    repo.commit_on_main("changed a\n")
    changed = d.pyctl("build", "-t", "addgitcache:1", str(path)).stdout
    assert "Using cache" not in changed and "changed a\n" in changed


def test_a_missing_ref_or_a_subdir_out_of_the_tree_is_refused(d, repo, tmp_path):
    for fragment, words in ((
            "#nope", f"failed to fetch remote {repo.git_url}: fatal: couldn't find remote ref nope"),
            ("#main:escape", f"escape: not a directory of {repo.git_url} at "),
            ("#main:../..", f"../..: not a directory of {repo.git_url} at ")):
        path = context(tmp_path / fragment.strip("#:./"), f"FROM busybox\nADD {repo.git_url}{fragment} /src\n")
        r = d.pyctl("build", "-t", "addgitbad:1", str(path), check=False)
        assert r.returncode == 1 and words in r.stderr, r.stderr
    assert d.pyctl("images", "-q", "addgitbad").stdout == ""
