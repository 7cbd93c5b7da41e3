"""N `sleep` containers through pyctl: how pyruncd's memory, threads and latencies grow with N.

Starts a private pyruncd (tests/harness), loads the fixture busybox and, for each N given
(ascending, on the same daemon: each step adds containers to the ones already running), runs
`pyctl run -d --network none busybox sleep ...` until N are running, then reports:
  - the daemon's RSS, threads and open descriptors, and its RSS growth per container since N=0;
  - the latency of `pyctl ps`, `pyctl inspect ID` and `pyctl run --rm --network none busybox true`
    (median of --runs, the three interleaved), beside the same figures at N=0;
  - the time to restart the daemon with N running: SIGTERM, start again on the same root, until
    `pyctl ps` lists all N as running (the shims outlive the daemon; it reconnects to each).
At the end every container is removed with one `pyctl rm -f` (timed).

Memory: each container costs a shim (~9 MB RSS, ~5 MB of it private) and its sleep; 500 need
~3 GB. Starting them is parallel (--parallel pyctl processes at a time) to save wall time only.

    .venv/bin/python bench/scale.py [--counts 100 500] [--runs 10] [--parallel 4] [--network none]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.pyruncd import VENV_BIN, Pyruncd  # noqa: E402

IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
PYCTL = str(VENV_BIN / "pyctl")


def status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process, from /proc/<pid>/status; fds from /proc/<pid>/fd."""
    out = {"fds": len(os.listdir(f"/proc/{pid}/fd"))}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "Threads"):
            out[name] = int(rest.split()[0])
    return out


def timed(d: Pyruncd, *args: str) -> float:
    """ms of one pyctl command, which must succeed."""
    t = time.perf_counter()
    r = subprocess.run([PYCTL, *args], env=d.env, capture_output=True, timeout=600)
    ms = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        raise RuntimeError(f"pyctl {' '.join(args)}: {r.stderr.decode(errors='replace').strip()}")
    return ms


def latencies(d: Pyruncd, target: str, runs: int, network: str) -> dict[str, float]:
    """Median ms of ps, inspect and run --rm, interleaved round by round."""
    cases = {"ps": ["ps"], "inspect": ["inspect", target],
             "run --rm": ["run", "--rm", "--name", "scale-run-rm", "--network", network, "busybox", "true"]}
    for argv in cases.values():
        timed(d, *argv)  # warm
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, argv in cases.items():
            times[name].append(timed(d, *argv))
    return {name: statistics.median(t) for name, t in times.items()}


def running_ids(d: Pyruncd) -> list[str]:
    return d.pyctl("ps", "-q").stdout.split()


def start_containers(d: Pyruncd, first: int, count: int, parallel: int, network: str) -> float:
    """Start `count` more sleep containers, scale-<first> on; returns the wall seconds."""
    def one(i: int) -> None:
        # named: pyruncd's generated names are 20 x 20 (containers/store.py), and with all 400 taken
        # new_name() loops forever on the event loop
        r = subprocess.run([PYCTL, "run", "-d", "--name", f"scale-{i}", "--network", network, "busybox", "sleep",
                            "1000000"], env=d.env, capture_output=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"pyctl run -d: {r.stderr.decode(errors='replace').strip()}")

    t = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, range(first, first + count)))
    return time.perf_counter() - t


def restart(d: Pyruncd, n: int) -> float:
    """Seconds from starting the daemon again (after a SIGTERM) until `ps` lists all n running."""
    d.stop(remove=False)
    t = time.perf_counter()
    d.start()
    deadline = t + 300
    while len(running_ids(d)) < n:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"after a restart only {len(running_ids(d))} of {n} containers are running")
        time.sleep(0.05)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[100])
    ap.add_argument("--runs", type=int, default=10, help="samples per latency figure")
    ap.add_argument("--parallel", type=int, default=4, help="pyctl run -d processes at a time")
    ap.add_argument("--network", default="none", help="network of the sleep containers and of run --rm")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds before reading the daemon's memory")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("scale.py needs root")
    if not IMAGE_TAR.exists():
        sys.exit(f"{IMAGE_TAR} missing: run `make fixtures`")
    rows = []
    with Pyruncd() as d:
        d.pyctl("load", "-i", str(IMAGE_TAR))
        d.pyctl("run", "--rm", "--name", "scale-warm", "--network", "none", "busybox", "true")  # lazy imports, once
        time.sleep(a.settle)
        base = status(d.proc.pid)
        lat0 = latencies(d, "busybox", a.runs, a.network)  # inspect of the image: nothing runs yet
        rows.append((0, base, lat0, 0.0, 0.0))
        have = 0
        try:
            for n in sorted(a.counts):
                took = start_containers(d, have, n - have, a.parallel, a.network)
                have = n
                per_start = took / max(1, n - rows[-1][0])
                ids = running_ids(d)
                if len(ids) != n:
                    raise RuntimeError(f"{len(ids)} containers running, {n} expected")
                time.sleep(a.settle)
                st = status(d.proc.pid)
                lat = latencies(d, ids[len(ids) // 2], a.runs, a.network)
                restart_s = restart(d, n)
                time.sleep(a.settle)
                st["restarted"] = status(d.proc.pid)["VmRSS"]
                rows.append((n, st, lat, per_start, restart_s))
                report(rows, base)
        finally:
            ids = running_ids(d) if d.proc else []
            if ids:
                t = time.perf_counter()
                d.pyctl("rm", "-f", *ids, timeout=1800)
                print(f"\nrm -f of {len(ids)} containers (one pyctl rm -f): {time.perf_counter() - t:.1f} s")
    return 0


def report(rows: list, base: dict[str, int]) -> None:
    print(f"\n{'N':>5} {'RSS MiB':>8} {'+MB/ctr':>8} {'threads':>8} {'fds':>6} {'ps ms':>7} {'inspect':>8} "
          f"{'run --rm':>9} {'start/ctr':>10} {'restart s':>10} {'RSS after':>10}")
    for n, st, lat, per_start, restart_s in rows:
        growth = (st["VmRSS"] - base["VmRSS"]) / 1000 / n if n else 0.0
        print(f"{n:>5} {st['VmRSS'] / 1024:>8.1f} {growth:>8.3f} {st['Threads']:>8} {st['fds']:>6} {lat['ps']:>7.0f} "
              f"{lat['inspect']:>8.0f} {lat['run --rm']:>9.0f} {per_start * 1000:>8.0f}ms {restart_s:>10.2f} "
              f"{st.get('restarted', st['VmRSS']) / 1024:>10.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
