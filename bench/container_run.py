"""`pyctl run --rm busybox true` beside `docker run --rm` (its default bridge, and --network none)
and `ctr run --rm`, same image, one run.

Starts a private pyruncd, dockerd and containerd (tests/harness), loads the fixture busybox into
each, times N runs of `true` through each CLI (median, min, max wall time), then prints each
daemon's idle RSS (dockerd's with its containerd child, as that is what docker needs).

    .venv/bin/python bench/container_run.py [--runs 10]
"""

import argparse
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


def timed(argv: list[str], env: dict, runs: int) -> list[float]:
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)  # warm caches once
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
        times.append((time.perf_counter() - t) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    return f"{name:<34} median {statistics.median(times):7.1f} ms   min {min(times):7.1f}   max {max(times):7.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    a = ap.parse_args()
    results, rss = [], []
    with Pyruncd() as d:
        d.pyctl("load", "-i", str(IMAGE_TAR))
        time.sleep(1)
        rss.append(("pyruncd", rss_kb(d.proc.pid)))
        results.append(row("pyctl run --rm busybox true", timed(
            [str(VENV_BIN / "pyctl"), "run", "--rm", "busybox", "true"], d.env, a.runs)))
    if not (why := dockerd_harness.available()):
        with dockerd_harness.Dockerd() as dk:
            dk.load_image(IMAGE_TAR)
            time.sleep(1)
            pid = dk.proc.pid
            rss.append(("dockerd (+ its containerd)", rss_kb(pid) + sum(rss_kb(c) for c in children(pid))))
            results.append(row("docker run --rm busybox true",
                               timed(dk.docker_argv("run", "--rm", "busybox", "true"), dk.env, a.runs)))
            results.append(row("docker run --rm --network none ...",
                               timed(dk.docker_argv("run", "--rm", "--network", "none", "busybox", "true"),
                                     dk.env, a.runs)))
    else:
        results.append(f"docker: skipped ({why})")
    if not (why := ctrd_harness.available()):
        with ctrd_harness.Containerd() as c:
            c.import_image(IMAGE_TAR)
            time.sleep(1)
            rss.append(("containerd", rss_kb(c.proc.pid)))
            argv = [ctrd_harness.CTR, "--address", c.address, "--namespace", c.namespace, "run", "--rm", c.image,
                    "bench", "true"]
            results.append(row("ctr run --rm busybox true", timed(argv, c.env, a.runs)))
    else:
        results.append(f"ctr: skipped ({why})")
    print(f"wall time over {a.runs} runs:")
    print("\n".join(results))
    print("idle daemon RSS:")
    for name, kb in rss:
        print(f"{name:<34} {kb / 1024:7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
