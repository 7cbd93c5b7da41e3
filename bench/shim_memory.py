"""Memory of containerd-shim-pyrunc-v2 beside containerd-shim-runc-v2, and `ctr run --rm` through each, in one run.

Starts a private containerd (tests/harness/containerd.py), imports the fixture busybox image,
runs one `sleep` container under each shim (both drive --runtime-binary, Debian's runc by
default, so only the shims differ) and one under our shim driving pyrunc (which it runs in forked
children), and prints RSS, PSS and private memory of each shim from /proc/<pid>/smaps_rollup.
Then, with --runs N, the wall time of `ctr run --rm IMAGE ID true` (median, min, max; paired,
interleaved rounds, the order rotating) through:
  - containerd-shim-runc-v2 driving runc (containerd's default: the peer),
  - containerd-shim-pyrunc-v2 driving runc (the shims alone differ),
  - containerd-shim-pyrunc-v2 driving pyrunc (our whole stack under containerd),
  - the same with pyrunc exec'd for every call, as before the shim ran it in forked children,
  - with --baseline-shim-src DIR: the shim whose packages (shim/, ttrpc/, proto/) come from DIR (the
    tree before a change, e.g. `git archive HEAD shim ttrpc proto | tar -x -C DIR`) driving runc,
    as runtime io.containerd.pyruncbase.v2, in the same rounds.

    .venv/bin/python bench/shim_memory.py [--runtime-binary /usr/sbin/runc] [--runs 10] [--baseline-shim-src DIR]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness.containerd import Containerd, available  # noqa: E402

IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")
BASELINE_RUNTIME = "io.containerd.pyruncbase.v2"


def memory(pid: int) -> dict[str, int]:
    """kB figures from smaps_rollup."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in FIELDS:
            out[name] = int(rest.split()[0])
    return out


def shim_of(c: Containerd, cid: str) -> int:
    bundle = str(c.bundle_dir(cid))
    for pid in c.shim_pids():
        if os.readlink(f"/proc/{pid}/cwd") == bundle:
            return pid
    raise RuntimeError(f"no shim found for {cid}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime-binary", default="/usr/sbin/runc", help="runtime our shim drives")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to wait before measuring")
    ap.add_argument("--runs", type=int, default=10, help="`ctr run --rm ... true` per shim (0: skip)")
    ap.add_argument("--baseline-shim-src", type=Path, help="a tree whose shim/, ttrpc/ and proto/ to time beside ours")
    args = ap.parse_args()
    if why := available():
        sys.exit(f"cannot run: {why}")
    if not IMAGE_TAR.exists():
        sys.exit(f"{IMAGE_TAR} missing: run `make fixtures`")
    with tempfile.TemporaryDirectory() as tmp, Containerd(extra_path=[tmp]) as c:
        if args.baseline_shim_src:
            baseline_shim(Path(tmp), args.baseline_shim_src.resolve())
        conf = Path(tmp) / "runtime.toml"
        conf.write_text(f'BinaryName = "{os.path.abspath(args.runtime_binary)}"\n')  # the shim runs in the bundle
        pyrunc_conf = Path(tmp) / "pyrunc.toml"
        pyrunc_conf.write_text(f'BinaryName = "{REPO / ".venv" / "bin" / "pyrunc"}"\n')
        execd_conf = Path(tmp) / "pyrunc-execd.toml"
        execd_conf.write_text(f'BinaryName = "{execd_pyrunc(Path(tmp))}"\n')
        image = c.import_image(IMAGE_TAR)
        c.ctr("run", "-d", "--runtime", "io.containerd.pyrunc.v2", "--runtime-config-path", str(conf),
              image, "ours", "sleep", "1000")
        # pyrunc runs in children forked from this shim: what they import must not stay in it
        c.ctr("run", "-d", "--runtime", "io.containerd.pyrunc.v2", "--runtime-config-path", str(pyrunc_conf),
              image, "ours-pyrunc", "sleep", "1000")
        c.ctr("run", "-d", "--runtime", "io.containerd.runc.v2", image, "theirs", "sleep", "1000")
        if args.baseline_shim_src:
            c.ctr("run", "-d", "--runtime", BASELINE_RUNTIME, "--runtime-config-path", str(conf), image, "baseline",
                  "sleep", "1000")
        time.sleep(args.settle)
        rows = [(f"containerd-shim-pyrunc-v2 + {os.path.basename(args.runtime_binary)}", memory(shim_of(c, "ours"))),
                ("containerd-shim-pyrunc-v2 + pyrunc", memory(shim_of(c, "ours-pyrunc"))),
                ("containerd-shim-runc-v2", memory(shim_of(c, "theirs")))]
        if args.baseline_shim_src:
            rows.append(("baseline shim + runc", memory(shim_of(c, "baseline"))))
        cases = [("runc shim + runc", ["--runtime", "io.containerd.runc.v2"]),
                 (f"pyrunc shim + {os.path.basename(args.runtime_binary)}", ["--runtime", "io.containerd.pyrunc.v2", "--runtime-config-path", str(conf)]),
                 ("pyrunc shim + pyrunc", ["--runtime", "io.containerd.pyrunc.v2", "--runtime-config-path",
                                           str(pyrunc_conf)]),
                 ("pyrunc shim + pyrunc exec'd", ["--runtime", "io.containerd.pyrunc.v2", "--runtime-config-path",
                                                  str(execd_conf)])]
        if args.baseline_shim_src:
            cases.append(("baseline shim + runc", ["--runtime", BASELINE_RUNTIME, "--runtime-config-path", str(conf)]))
        times = run_times(c, image, cases, args.runs)
    print(f"{'shim (one sleep container)':<36}{'RSS MB':>8}{'PSS MB':>8}{'private MB':>12}")
    for name, m in rows:
        private = m["Private_Clean"] + m["Private_Dirty"]
        print(f"{name:<36}{m['Rss'] / 1024:>8.1f}{m['Pss'] / 1024:>8.1f}{private / 1024:>12.1f}")
    if args.runs:
        print(f"\n{'ctr run --rm IMAGE ID true':<32}{'median':>8}{'min':>8}{'max':>8}  (ms, {args.runs} runs)")
        for name, ts in times.items():
            print(f"{name:<32}{statistics.median(ts):>8.0f}{min(ts):>8.0f}{max(ts):>8.0f}")
        peer = times["runc shim + runc"]
        for name, ts in times.items():
            if ts is not peer:
                paired = statistics.median(a / b for a, b in zip(ts, peer, strict=True))
                print(f"{name + ' / runc shim':<44} {statistics.median(ts) / statistics.median(peer):.2f}x "
                      f"(paired {paired:.2f}x)")
        if "baseline shim + runc" in times:
            ours, base = times[f"pyrunc shim + {os.path.basename(args.runtime_binary)}"], times["baseline shim + runc"]
            paired = statistics.median(a - b for a, b in zip(ours, base, strict=True))
            print(f"{'pyrunc shim - baseline shim (+ runc)':<44} {statistics.median(ours) - statistics.median(base):+.0f} ms "
                  f"(paired {paired:+.0f} ms)")
        forked, execd = times["pyrunc shim + pyrunc"], times["pyrunc shim + pyrunc exec'd"]
        paired = statistics.median(a - b for a, b in zip(forked, execd, strict=True))
        label = "pyrunc forked - pyrunc exec'd"
        print(f"{label:<44} {statistics.median(forked) - statistics.median(execd):+.0f} ms "
              f"(paired {paired:+.0f} ms)")
    return 0


def baseline_shim(tmp: Path, src: Path) -> None:
    """containerd-shim-pyruncbase-v2 in tmp (on containerd's PATH): our shim's script with src's packages
    first on its sys.path."""
    lines = (REPO / ".venv" / "bin" / "containerd-shim-pyrunc-v2").read_text().splitlines(keepends=True)
    first = [str(src / part / "src") for part in ("shim", "ttrpc", "proto")]
    script = tmp / "containerd-shim-pyruncbase-v2"
    script.write_text("".join(f"{line.rstrip()}\nsys.path[:0] = {first!r}\n" if line.startswith("sys.path")
                              else line for line in lines))
    script.chmod(0o755)


def execd_pyrunc(tmp: Path) -> Path:
    """pyrunc's script with one more (empty) directory on its sys.path: the same program, which the
    shim does not take for the pyrunc of its own interpreter and path, so it execs it, as it did
    every runtime before it ran pyrunc in forked children (pyrunc_shim/inprocess.py)."""
    lines = (REPO / ".venv" / "bin" / "pyrunc").read_text().splitlines(keepends=True)
    empty = tmp / "empty"
    empty.mkdir()
    script = tmp / "pyrunc"
    script.write_text("".join(f"{line.rstrip()}\nsys.path.append({str(empty)!r})\n" if line.startswith("sys.path")
                              else line for line in lines))
    script.chmod(0o755)
    return script


def run_times(c: Containerd, image: str, cases: list[tuple[str, list[str]]], runs: int) -> dict[str, list[float]]:
    """Wall ms of `ctr run --rm` per case: one warm-up each, then rounds running every case once, the
    order rotating from round to round, so drifts in the machine's load hit all cases alike."""
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for i in range(-1, runs):
        k = max(i, 0) % len(cases)
        for j, (name, flags) in enumerate(cases[k:] + cases[:k]):
            t = time.perf_counter()
            c.ctr("run", "--rm", *flags, image, f"run-{i + 1}-{j}", "true")
            if i >= 0:
                times[name].append((time.perf_counter() - t) * 1000)
    return times


if __name__ == "__main__":
    sys.exit(main())
