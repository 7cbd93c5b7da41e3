"""pyctl build --progress tty (and auto on a terminal): BuildKit's live display on a pty, redrawn in place,
each step with its status and time, a running step's last output lines under it, FINISHED at the end;
a failed step stays in red with its output and docker's error and exit code after the frame. --progress
plain on the same terminal is the classic builder's output, unchanged."""

import os
import re
from pathlib import Path

import pytest

from tests.harness.build_compare import assert_build_left_nothing, context
from tests.harness.busybox_daemon import busybox_daemon
from tests.harness.dockerd import run_in_pty
from tests.harness.pyruncd import VENV_BIN

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]

COLS = 90
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SLOW = "FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8 9; do echo line$i; sleep 0.25; done\nLABEL done=yes\n"


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)


def on_a_terminal(d, path: Path, *args: str) -> tuple[int, str]:
    code, out = run_in_pty([str(VENV_BIN / "pyctl"), "build", *args, str(path)], d.env, cols=COLS, timeout=120)
    return code, out.decode(errors="replace")


def frames(out: str) -> list[list[str]]:
    """Each frame drawn, as its lines without colours or cursor moves."""
    return [ANSI.sub("", "[+] Building" + frame).replace("\r", "").split("\n")
            for frame in out.split("[+] Building")[1:]]


def test_tty_shows_buildkits_live_display_redrawn_in_place(d, tmp_path):
    code, out = on_a_terminal(d, context(tmp_path, SLOW), "--progress", "tty", "--no-cache", "-t", "live:1")
    assert code == 0, out
    assert "Step 1/3" not in out and "Successfully built" not in out
    assert re.search(r"\x1b\[\d+A", out), "each frame goes back up over the one before"
    drawn = frames(out)
    assert len(drawn) > 5
    running = [frame for frame in drawn if any(line.startswith(" => => # line") for line in frame)]
    assert running, "a running step shows its output under it"
    for frame in drawn:
        assert sum(line.startswith(" => => # ") for line in frame) <= 6  # its last lines only
        assert all(len(line) <= COLS for line in frame)
    assert any(" => => # line9" in frame for frame in running)
    last = drawn[-1]
    assert re.match(r"\[\+\] Building \d+\.\ds \(3/3\) FINISHED$", last[0]), last[0]
    titles = [re.sub(r"\s+\d+\.\ds$", "", line) for line in last[1:] if line.strip()]
    assert titles == [" => [internal] load build context", " => => transferring context: 10.24kB",
                      " => [1/3] FROM busybox",
                      " => [2/3] RUN for i in 1 2 3 4 5 6 7 8 9; do echo line$i; sleep 0.25; done",
                      " => [3/3] LABEL done=yes", " => exporting to image", " => => exporting layers",
                      titles[7], " => => naming to docker.io/library/live:1"]
    assert titles[7].startswith(" => => writing image sha256:")
    seconds = float(re.search(r"(\d+\.\d)s$", last[4])[1])
    assert seconds >= 2.0  # the RUN's own time, right-aligned
    again = frames(on_a_terminal(d, context(tmp_path, SLOW), "--progress", "tty", "-t", "live:1")[1])[-1]
    assert any(line.startswith(" => CACHED [2/3] RUN for i") for line in again)


def test_auto_on_a_terminal_is_the_live_display_and_plain_stays_the_classic_output(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo hi\n")
    code, out = on_a_terminal(d, path, "--no-cache", "-t", "auto:1")
    assert code == 0 and "FINISHED" in out and "Step 1/2" not in out
    code, out = on_a_terminal(d, path, "--progress", "plain", "--no-cache", "-t", "auto:1")
    assert code == 0 and "[+] Building" not in out and "\x1b[" not in out
    assert out.replace("\r\n", "\n").startswith("Step 1/2 : FROM busybox\n ---> ")
    assert "\nhi\n" in out.replace("\r\n", "\n") and "Successfully tagged auto:1\n" in out.replace("\r\n", "\n")
    quiet = d.pyctl("build", "--progress", "tty", "-q", str(path)).stdout  # not a terminal, and quiet: the id
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", quiet)


def test_a_failed_step_stays_red_with_its_output_then_dockers_error(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN echo oops; exit 3\n")
    code, out = on_a_terminal(d, path, "--progress", "tty", "--no-cache")
    assert code == 3
    assert "\x1b[31m => ERROR [2/2] RUN echo oops; exit 3" in out
    last = frames(out)[-1]
    assert "FINISHED" not in last[0]
    assert " => => # oops" in last
    assert out.rstrip().endswith("The command '/bin/sh -c echo oops; exit 3' returned a non-zero code: 3")
