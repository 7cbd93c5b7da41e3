"""`pyctl run --rm busybox true` on the default bridge against `--network none`, beside docker's same pair.

Starts a private pyruncd (its own bridge, nft table and subnet, from tests/harness) and then a private
dockerd with networking (its own bridge and iptables rules, removed after), loads the fixture busybox
into each, and times N runs of each command (median, min, max wall time). Engines run one after the
other, so neither daemon's idle work lands in the other's figures on this 2-vCPU machine.

    .venv/bin/python bench/network_run.py [--runs 15]
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import dockerd as dockerd_harness  # noqa: E402
from tests.harness.pyruncd import VENV_BIN, Pyruncd  # noqa: E402

IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"


def timed(argv: list[str], env: dict, runs: int) -> list[float]:
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)  # warm caches once
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=60)
        times.append((time.perf_counter() - t) * 1000)
    return times


def row(name: str, times: list[float]) -> str:
    return f"{name:<48} median {statistics.median(times):7.1f} ms   min {min(times):7.1f}   max {max(times):7.1f}"


def pair(runs: int, argv, env: dict) -> list[str]:
    """Bridge and none interleaved, so that load from elsewhere on the machine falls on both alike."""
    bridge, none = [], []
    for _ in range(runs):
        bridge += timed(argv("run", "--rm", "busybox", "true"), env, 1)
        none += timed(argv("run", "--rm", "--network", "none", "busybox", "true"), env, 1)
    name = Path(argv()[0]).name
    return [row(f"{name} run --rm busybox true (bridge)", bridge),
            row(f"{name} run --rm --network none busybox true", none)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    results = []
    with Pyruncd() as d:
        d.pyctl("load", "-i", str(IMAGE_TAR))
        results += pair(a.runs, lambda *args: [str(VENV_BIN / "pyctl"), *args], d.env)
    if not (why := dockerd_harness.available()):
        with dockerd_harness.Dockerd(network=True) as dk:
            dk.load_image(IMAGE_TAR)
            results += pair(a.runs, lambda *args: dk.docker_argv(*args), dk.env)
    else:
        results.append(f"docker: skipped ({why})")
    print("\n".join(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
