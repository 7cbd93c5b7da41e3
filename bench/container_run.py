"""`pyctl run --rm busybox true` beside `docker run --rm` and `ctr run --rm`, same image, one run.

The dockerd here runs without a bridge (--bridge none), so `docker run --rm` has no network and
compares with `pyctl run --rm --network none`; bench/network_run.py compares both with networking.

Starts a private pyruncd, dockerd and containerd (tests/harness), loads the fixture busybox into
each, times N runs of `true` through each CLI, interleaved (median, min, max wall time), and
prints each daemon's idle RSS (dockerd's with its containerd child, as that is what docker needs).

    .venv/bin/python bench/container_run.py [--runs 10] [--baseline-daemon-src DIR] [--baseline-network bridge]
                                            [--no-docker]

--baseline-daemon-src (repeatable) adds a pyruncd whose package comes from DIR (the daemon/src of the
tree before a change, e.g. from `git archive`), running `--network none` (or on the default bridge, with
--baseline-network bridge, for a network lever), timed in the same rounds: a before/after pair in one run.
"""

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import containerd as ctrd_harness  # noqa: E402
from tests.harness import dockerd as dockerd_harness  # noqa: E402
from tests.harness.pyruncd import VENV_BIN, Pyruncd  # noqa: E402

IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out


def run_once(argv: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
    return (time.perf_counter() - t) * 1000


def interleaved(cases: list[tuple[str, list[str], dict]], runs: int) -> dict[str, list[float]]:
    """Every round runs each case once, the order rotating from round to round: load from other
    work on the machine drifts over seconds, and so hits all cases alike."""
    for _, argv, env in cases:
        run_once(argv, env)  # warm caches once
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for i in range(runs):
        for name, argv, env in cases[i % len(cases):] + cases[:i % len(cases)]:
            times[name].append(run_once(argv, env))
    return times


def row(name: str, times: list[float]) -> str:
    return f"{name:<34} median {statistics.median(times):7.1f} ms   min {min(times):7.1f}   max {max(times):7.1f}"


@contextlib.contextmanager
def _baseline(src: Path):
    """A pyruncd importing its own package from src (PYTHONPATH comes before the venv's editable path)."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(src.resolve())
    try:
        d = Pyruncd().start()
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    try:
        yield d
    finally:
        d.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--baseline-daemon-src", type=Path, action="append", default=[],
                    help="another pyruncd's package dir, timed beside (repeatable)")
    ap.add_argument("--baseline-network", choices=("none", "bridge"), default="none",
                    help="the baselines' network (bridge: the default bridge, for a network lever)")
    ap.add_argument("--no-docker", action="store_true", help="leave docker out: more rounds in the same time")
    a = ap.parse_args()
    cases, rss, skipped = [], [], []
    with contextlib.ExitStack() as stack:
        d = stack.enter_context(Pyruncd())
        d.pyctl("load", "-i", str(IMAGE_TAR))
        cases.append(("pyctl run --rm busybox true", [str(VENV_BIN / "pyctl"), "run", "--rm", "busybox", "true"],
                      d.env))
        # this dockerd runs with --bridge none, so its default has no network: the pair to compare is this one
        cases.append(("pyctl run --rm --network none ...",
                      [str(VENV_BIN / "pyctl"), "run", "--rm", "--network", "none", "busybox", "true"], d.env))
        for src in a.baseline_daemon_src:
            base = stack.enter_context(_baseline(src))
            base.pyctl("load", "-i", str(IMAGE_TAR))
            cases.append((f"baseline {src} ({a.baseline_network})", [
                str(VENV_BIN / "pyctl"), "run", "--rm", "--network", a.baseline_network, "busybox", "true"], base.env))
        if a.no_docker:
            skipped.append("docker: left out (--no-docker)")
        elif not (why := dockerd_harness.available()):
            dk = stack.enter_context(dockerd_harness.Dockerd())
            dk.load_image(IMAGE_TAR)
            cases.append(("docker run --rm busybox true", dk.docker_argv("run", "--rm", "busybox", "true"), dk.env))
            cases.append(("docker run --rm --network none ...",
                          dk.docker_argv("run", "--rm", "--network", "none", "busybox", "true"), dk.env))
        else:
            skipped.append(f"docker: skipped ({why})")
        if not (why := ctrd_harness.available()):
            c = stack.enter_context(ctrd_harness.Containerd())
            c.import_image(IMAGE_TAR)
            cases.append(("ctr run --rm busybox true", [ctrd_harness.CTR, "--address", c.address, "--namespace",
                                                        c.namespace, "run", "--rm", c.image, "bench", "true"], c.env))
        else:
            skipped.append(f"ctr: skipped ({why})")
        time.sleep(1)
        rss.append(("pyruncd", rss_kb(d.proc.pid)))
        if not a.no_docker and not dockerd_harness.available():
            pid = dk.proc.pid
            rss.append(("dockerd (+ its containerd)", rss_kb(pid) + sum(rss_kb(c) for c in children(pid))))
        if not ctrd_harness.available():
            rss.append(("containerd", rss_kb(c.proc.pid)))
        times = interleaved(cases, a.runs)
    print(f"wall time over {a.runs} interleaved runs:")
    print("\n".join([row(name, t) for name, t in times.items()] + skipped))
    if "ctr run --rm busybox true" in times:
        ctr = times["ctr run --rm busybox true"]
        print("paired (median of per-round ratios) to ctr run --rm:")
        for name, t in times.items():
            if name.startswith(("pyctl", "baseline")):
                print(f"{name:<34} {statistics.median(x / c for x, c in zip(t, ctr, strict=True)):5.2f}x")
    print("idle daemon RSS:")
    for name, kb in rss:
        print(f"{name:<34} {kb / 1024:7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
