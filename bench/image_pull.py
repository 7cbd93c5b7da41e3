"""Pull and unpack a large image (>= 200 MB, several layers, built offline) from a local registry:
`pyctl pull` beside `ctr images pull` and `skopeo copy`, in the same run. Prints the times.

Each run starts from empty storage: a fresh pyruncd --root, a fresh containerd, a fresh
skopeo destination. pyctl and ctr also unpack the layers into snapshots; skopeo only copies
the blobs into an OCI layout, so it is a floor for the transfer alone.

    .venv/bin/python bench/image_pull.py [--runs 3] [--size-mb 256] [--layers 4]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "spec-fixtures")]

from spec_fixtures import big_image, write_oci_layout  # noqa: E402

from tests.harness import containerd  # noqa: E402
from tests.harness.pyruncd import Pyruncd  # noqa: E402
from tests.harness.registry import Registry  # noqa: E402


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_pyctl(ref: str) -> float:
    with Pyruncd() as d:
        return timed(lambda: d.pyctl("pull", "-q", ref))


def run_ctr(ref: str) -> float:
    with containerd.Containerd() as c:
        return timed(lambda: c.ctr("images", "pull", "--plain-http", ref, timeout=600))


def run_skopeo(ref: str) -> float:
    dest = Path(tempfile.mkdtemp(prefix="skopeo-bench-", dir="/tmp"))
    try:
        return timed(lambda: subprocess.run(
            ["skopeo", "copy", "-q", "--src-tls-verify=false", f"docker://{ref}", f"oci:{dest}:bench"],
            check=True, timeout=600))
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--size-mb", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("image_pull.py: needs root (snapshots keep owners; containerd)")

    work = Path(tempfile.mkdtemp(prefix="pull-bench-", dir="/tmp"))
    try:
        t = time.perf_counter()
        img = big_image(size_mb=a.size_mb, layers=a.layers)
        write_oci_layout(str(work / "oci"), {"latest": img})
        blobs = sum(len(x.blob) for x in img.layers)
        unpacked = sum(len(x.tar) for x in img.layers)
        print(f"image: {len(img.layers)} layers, {unpacked / 1e6:.0f} MB unpacked, {blobs / 1e6:.0f} MB "
              f"compressed (built in {time.perf_counter() - t:.1f} s)")
        with Registry() as reg:
            ref = f"{reg.host}/bench/big:latest"
            subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{work / 'oci'}:latest",
                            f"docker://{ref}"], check=True)
            tools = [("pyctl pull (pyruncd)", run_pyctl), ("skopeo copy (no unpack)", run_skopeo)]
            if containerd.available():
                print(f"ctr: skipped ({containerd.available()})")
            else:
                tools.insert(1, ("ctr images pull", run_ctr))
            results = {name: [] for name, _ in tools}
            for _ in range(a.runs):
                for name, fn in tools:  # interleaved, so drift hits every tool alike
                    results[name].append(fn(ref))
        print(f"{'tool':<26}{'median':>9}{'min':>9}{'max':>9}   ({a.runs} runs, fresh storage each)")
        for name, times in results.items():
            print(f"{name:<26}{statistics.median(times):>8.2f}s{min(times):>8.2f}s{max(times):>8.2f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
