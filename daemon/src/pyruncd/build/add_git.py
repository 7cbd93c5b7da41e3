"""`ADD <git repository>[#ref[:subdir]] <dest>`, as BuildKit does it: the repository checked out at the ref
(its default branch without one) and the tree (or its subdir) copied into the destination, without `.git`
unless `--keep-git-dir=true`.

A source is a repository as BuildKit's gitutil.ParseGitRef reads it: git://, ssh://, scp-like
`user@host:path`, `github.com/...`, or an http(s) URL whose path ends in `.git`. The daemon runs git with
no configuration but its own (no system or global file, no prompt, no credential helper), only the
git/http/https/ssh transports, ssh without the host's keys (BuildKit's `--ssh` forwarding is not done), no
submodules; the key of the step is the commit the ref resolved to.
"""

import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from .errors import ContextError

TIMEOUT = 600.0
_SCP_LIKE = re.compile(r"^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:(?!//)")
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_TRANSPORTS = ("git", "http", "https", "ssh")


@dataclass(frozen=True, kw_only=True)
class GitSource:
    remote: str  # what git fetches from
    ref: str  # "" for the remote's HEAD
    subdir: str  # "" for the whole tree


@dataclass(frozen=True, kw_only=True)
class CheckedOut:
    root: Path  # the tree to copy (the subdir, if one was asked)
    commit: str


def git_source(source: str) -> GitSource | None:
    """The repository `source` names, or None when it is not one."""
    remote, _, fragment = source.partition("#")
    if remote.startswith("github.com/"):
        remote = "https://" + remote
    elif not _SCP_LIKE.match(remote):
        scheme = urllib.parse.urlsplit(remote).scheme
        if scheme not in _TRANSPORTS:
            return None
        if scheme in ("http", "https") and not urllib.parse.urlsplit(remote).path.endswith(".git"):
            return None
    ref, _, subdir = fragment.partition(":")
    return GitSource(remote=remote, ref=ref, subdir=subdir.strip("/"))


def shown(remote: str) -> str:
    """The remote without the password a URL may carry (it is named in errors and history)."""
    parts = urllib.parse.urlsplit(remote)
    if parts.password is None:
        return remote
    netloc = f"{parts.username}:xxxxx@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _git(*args: str, cwd: Path, home: Path) -> str:
    settings = ["protocol.allow=never", *(f"protocol.{name}.allow=always" for name in _TRANSPORTS),
                "core.hooksPath=/dev/null", "credential.helper=", "core.symlinks=true"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_ASKPASS": "/bin/false",
           "GIT_SSH_COMMAND": "ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityFile=/dev/null",
           "LC_ALL": "C"}
    try:
        done = subprocess.run(["git", *(word for setting in settings for word in ("-c", setting)), *args], cwd=cwd,
                              env=env, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ContextError(f"git {args[0]}: no answer in {TIMEOUT:.0f} s") from None
    except FileNotFoundError:
        raise ContextError("ADD of a git repository needs git on the daemon's host (apt-get install git)") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise ContextError(lines[-1] if lines else f"git {args[0]} exited {done.returncode}")
    return done.stdout.strip()


def check_out(source: GitSource, scratch: Path, keep_git_dir: bool) -> CheckedOut:
    """The repository at its ref under `scratch` (blocking: run it in a thread)."""
    tree, home = scratch / "tree", Path(tempfile.mkdtemp(dir=scratch, prefix="home-"))
    tree.mkdir()
    _git("init", "-q", cwd=tree, home=home)
    ref = source.ref or "HEAD"
    try:
        if _COMMIT.match(ref):  # a commit may not be fetchable alone: every branch and tag, then it
            _git("fetch", "-q", "--no-tags", "--", source.remote, "+refs/heads/*:refs/remotes/origin/*",
                 "+refs/tags/*:refs/tags/*", cwd=tree, home=home)
            target = ref
        else:
            try:
                _git("fetch", "-q", "--depth=1", "--no-tags", "--", source.remote, ref, cwd=tree, home=home)
            except ContextError:  # a dumb HTTP remote cannot be fetched shallow: whole, then
                _git("fetch", "-q", "--no-tags", "--", source.remote, ref, cwd=tree, home=home)
            target = "FETCH_HEAD"
        commit = _git("rev-parse", "--verify", "-q", f"{target}^{{commit}}", cwd=tree, home=home)
        _git("checkout", "-q", "--detach", commit, cwd=tree, home=home)
    except ContextError as error:
        raise ContextError(f"failed to fetch remote {shown(source.remote)}: {error}") from None
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if not keep_git_dir:
        shutil.rmtree(tree / ".git")
    return CheckedOut(root=_subdir(tree, source, commit), commit=commit)


def _subdir(tree: Path, source: GitSource, commit: str) -> Path:
    """The subdir asked, a real directory of the tree: no "..", no link on the way (it could lead out)."""
    root = tree
    for name in source.subdir.split("/") if source.subdir else ():
        root = root / name
        if name in ("", ".", "..") or root.is_symlink() or not root.is_dir():
            raise ContextError(f"{source.subdir}: not a directory of {shown(source.remote)} at {commit[:12]}")
    return root
