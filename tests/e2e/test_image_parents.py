"""Image parents after a build or a commit, as dockerd 20.10 (classic builder) keeps them: `images` hides the
intermediate images (`-a` shows them), `inspect .Parent`, `image prune` keeps a tagged image's build cache,
`rmi` refuses an image with children and deletes a removed image's untagged parents, `history` shows the
build steps' image ids, `system df` and `builder prune`. One sequence is run by dockerd 20.10 too and the
outputs compared (ids aside).
"""

import os
import re
from pathlib import Path

import pytest

from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available

REPO = Path(__file__).resolve().parents[2]
BUSYBOX_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
DOCKERFILE = "FROM busybox\nRUN echo one > /one\nENV A=b\nCOPY f /f\n"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]


@pytest.fixture
def d():
    with busybox_daemon() as daemon:
        yield daemon


def context(path: Path, content: str = "hello\n") -> Path:
    path.mkdir(exist_ok=True)
    (path / "Dockerfile").write_text(DOCKERFILE)
    (path / "f").write_text(content)
    return path


def step_ids(build_output: str) -> list[str]:
    """The ` ---> <id>` lines: the base image's, then each step's image."""
    return re.findall(r"^ ---> ([0-9a-f]{12})$", build_output, re.M)


def full_id(cli, short: str) -> str:
    return cli("inspect", "-f", "{{.Id}}", short).strip()


def test_build_steps_are_intermediate_images_with_parents(d, tmp_path):
    path = context(tmp_path / "ctx")
    base, run, env, built = step_ids(d.pyctl("build", "-t", "app", str(path)).stdout)
    assert d.pyctl("images", "-q").stdout.split() == [built, base]
    assert set(d.pyctl("images", "-a", "-q").stdout.split()) == {base, run, env, built}
    assert "<none>" not in d.pyctl("images").stdout
    ids = {short: d.pyctl("inspect", "-f", "{{.Id}}", short).stdout.strip() for short in (base, run, env, built)}
    parents = d.pyctl("inspect", "-f", "{{.Parent}}", "app", env, run, "busybox").stdout.splitlines()
    assert parents == [ids[env], ids[run], ids[base], ""]
    assert d.pyctl("history", "-q", "app").stdout.split() == [built, env, run, base]

    # the intermediate images are not dangling: prune keeps them, and the cache with them
    pruned = d.pyctl("image", "prune", "-f").stdout
    assert pruned == "Total reclaimed space: 0B\n"
    again = d.pyctl("build", "-t", "app", str(path)).stdout
    assert again.count(" ---> Using cache") == 3 and step_ids(again)[-1] == built

    for args in ([ids[env]], ["-f", ids[env]]):
        refused = d.pyctl("rmi", *args, check=False)
        assert refused.returncode == 1
        assert refused.stderr == (f"Error response from daemon: conflict: unable to delete {env} (cannot be forced)"
                                  " - image has dependent child images\n")

    # the base's last name goes, the image stays (it has children), untagged and hidden
    assert d.pyctl("rmi", "busybox").stdout == "Untagged: busybox:latest\n"
    assert base in d.pyctl("images", "-a", "-q").stdout.split()
    assert base not in d.pyctl("images", "-q").stdout.split()
    d.pyctl("tag", base, "busybox")

    # removing the image deletes its untagged parents, up to the tagged base
    removed = d.pyctl("rmi", "app").stdout
    assert removed == f"Untagged: app:latest\nDeleted: {ids[built]}\nDeleted: {ids[env]}\nDeleted: {ids[run]}\n"
    assert d.pyctl("images", "-a", "-q").stdout.split() == [base]
    assert " ---> Using cache" not in d.pyctl("build", "-t", "app", str(path)).stdout
    d.pyctl("rmi", "app")


def test_a_dangling_build_is_pruned_with_its_own_steps_only(d, tmp_path):
    path = context(tmp_path / "ctx", "one\n")
    first = step_ids(d.pyctl("build", "-t", "app", str(path)).stdout)
    context(path, "two\n")
    second = step_ids(d.pyctl("build", "-t", "app", str(path)).stdout)
    assert first[:3] == second[:3] and first[3] != second[3]
    rows = [line.split() for line in d.pyctl("images").stdout.splitlines()[1:]]
    assert [r[:3] for r in rows] == [["app", "latest", second[3]], ["<none>", "<none>", first[3]],
                                     ["busybox", "latest", first[0]]]
    dangling = d.pyctl("inspect", "-f", "{{.Id}}", first[3]).stdout.strip()
    pruned = d.pyctl("image", "prune", "-f").stdout.splitlines()
    assert pruned[:3] == ["Deleted Images:", f"deleted: {dangling}", ""]  # its parent has another child
    assert first[3] not in d.pyctl("images", "-a", "-q").stdout.split()
    # the steps app still has kept their cache
    assert d.pyctl("build", "-t", "app", str(path)).stdout.count(" ---> Using cache") == 3
    d.pyctl("rmi", "app")


def test_commit_records_the_containers_image_as_parent(d):
    busybox = d.pyctl("inspect", "-f", "{{.Id}}", "busybox").stdout.strip()
    cid = d.pyctl("create", "busybox", "true").stdout.strip()
    image = d.pyctl("commit", cid, "committed").stdout.strip()
    assert d.pyctl("inspect", "-f", "{{.Parent}}", "committed").stdout.strip() == busybox
    assert d.pyctl("history", "-q", "committed").stdout.split() == [image[7:19], busybox[7:19]]
    refused = d.pyctl("rmi", "-f", busybox[7:19], check=False)
    assert refused.stderr == (f"Error response from daemon: conflict: unable to delete {busybox[7:19]} (cannot be"
                              " forced) - image has dependent child images\n")
    d.pyctl("rm", cid)
    assert d.pyctl("rmi", "committed").stdout == f"Untagged: committed:latest\nDeleted: {image}\n"


def df_rows(cli) -> dict[str, list[str]]:
    lines = cli("system", "df").splitlines()
    assert lines[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    return {kind: line.removeprefix(kind).split()[:2] for line in lines[1:]
            for kind in ("Images", "Containers", "Local Volumes", "Build Cache") if line.startswith(kind)}


def test_system_df_counts_and_builder_prune(d, tmp_path):
    path = context(tmp_path / "ctx")
    d.pyctl("build", "-t", "app", str(path))
    cli = lambda *args: d.pyctl(*args).stdout  # noqa: E731
    rows = df_rows(cli)
    assert rows == {"Images": ["2", "0"], "Containers": ["0", "0"], "Local Volumes": ["0", "0"],
                    "Build Cache": ["3", "0"]}
    cid = d.pyctl("create", "-v", "/data", "app", "true").stdout.strip()
    assert df_rows(cli)["Images"] == ["2", "1"] and df_rows(cli)["Containers"] == ["1", "0"]
    assert df_rows(cli)["Local Volumes"] == ["1", "1"]
    verbose = cli("system", "df", "-v")
    for title in ("Images space usage:", "Containers space usage:", "Local Volumes space usage:",
                  "Build cache usage: "):
        assert title in verbose
    assert re.search(r"^app\s+latest\s+\w{12}\s.*\s1$", verbose, re.M)
    assert re.search(rf"^{cid[:12]}\s+app\s+\"true\"\s+1\s", verbose, re.M)
    # the build cache of a tagged image is shared (builder prune frees nothing of it): size 0B
    cache_line = next(line for line in cli("system", "df").splitlines() if line.startswith("Build Cache"))
    assert cache_line.split()[4:] == ["0B", "0B"]
    d.pyctl("rm", "-v", cid)
    assert "Total reclaimed space: 0B" in d.pyctl("builder", "prune", "-f").stdout
    assert df_rows(cli)["Build Cache"] == ["0", "0"]
    assert len(d.pyctl("images", "-a", "-q").stdout.split()) == 4  # the steps stay: parents of app
    d.pyctl("rmi", "app")
    assert d.pyctl("images", "-a", "-q").stdout.split() == [d.pyctl("images", "-q").stdout.strip()]


def _sequence(cli, build_dir: Path) -> dict:
    """The outputs compared with dockerd's, with the ids replaced by names."""
    out = cli("build", "-t", "app", str(build_dir))
    base, run, env, built = step_ids(out)
    names = {full_id(cli, s): n for s, n in ((base, "base"), (run, "run"), (env, "env"), (built, "built"))}
    names.update({k[7:19]: v for k, v in names.items()})

    def named(text: str) -> str:
        return re.sub(r"(sha256:)?[0-9a-f]{64}|\b[0-9a-f]{12}\b", lambda m: names.get(m.group(0), "?"), text)

    result = {
        "images": [line.split()[:3] for line in named(cli("images")).splitlines()[1:]],
        "images -a": sorted(line.split()[2] for line in named(cli("images", "-a")).splitlines()[1:]),
        "parents": named(cli("inspect", "-f", "{{.Parent}}", "app", env, run, base)),
        "history": named(cli("history", "-q", "app")),
        "df": {k: v for k, v in df_rows(cli).items() if k != "Build Cache"},
        "prune": cli("image", "prune", "-f"),
        "rmi child": named(cli("rmi", "-f", env, check=False, stderr=True)),
        "rmi busybox": cli("rmi", "busybox"),
    }
    cli("tag", base, "busybox")
    # docker also lists the layers it deletes (their chain ids): only the images' lines are compared
    result["rmi app"] = [line for line in named(cli("rmi", "app")).splitlines() if "?" not in line]
    result["left"] = named(cli("images", "-a", "-q"))
    # prune -a: the image a container uses stays, so do its parents; the base loses its name only
    cli("build", "-t", "app", str(build_dir))
    container = cli("create", "app").strip()
    result["prune -a in use"] = cli("image", "prune", "-a", "-f")
    result["images -a in use"] = sorted(line.split()[:2] for line in cli("images", "-a").splitlines()[1:])
    cli("rm", container)
    pruned = cli("image", "prune", "-a", "-f").splitlines()
    result["prune -a"] = (pruned[:2], pruned[-1].startswith("Total reclaimed space: "))
    result["images -a at the end"] = cli("images", "-a", "-q")
    return result


def test_the_sequence_matches_dockerd(d, tmp_path):
    if dockerd_available():
        pytest.skip(dockerd_available())
    path = context(tmp_path / "ctx")

    def ours(*args, check=True, stderr=False):
        r = d.pyctl(*args, check=check)
        return r.stdout + (r.stderr if stderr else "")

    with Dockerd() as docker:
        docker.env["DOCKER_BUILDKIT"] = "0"
        docker.load_image(BUSYBOX_TAR)

        def theirs(*args, check=True, stderr=False):
            r = docker.docker(*args, check=check)
            return r.stdout.decode() + (r.stderr.decode() if stderr else "")

        assert _sequence(ours, path) == _sequence(theirs, path)
