"""pyrunc beside runc and crun on the fixture bundle, side by side in one run. Prints a table.

Three operations, each timed per runtime with paired, interleaved runs (every round runs each
runtime once, the order rotating from round to round, so drifts in machine load hit all alike):
  run        `RT run -b BUNDLE ID` of /bin/true (create + start + wait + delete)
  lifecycle  `RT create`, `RT start`, `RT delete -f` (three processes, added up)
  exec       `RT exec ID /bin/true` into a running container (`sleep`), one per runtime
Wall time is measured around each process; CPU (user + sys) and peak RSS come from os.wait4, so
they cover the runtime and every process it waited for (e.g. runc's `runc init`, the container
itself in `run`), but not a process it leaves running.

crun 1.8.1 refuses this machine's hybrid cgroups (cgroup2 holds only hugetlb). The benchmark
moves hugetlb to a v1 mount at /sys/fs/cgroup/hugetlb for the run (all three runtimes see the
same hierarchy then) and undoes it afterwards, even on failure, waiting until the kernel has
given hugetlb back to cgroup2 (containerd's OOM events fail while it has not). The kernel refuses that move
while cgroup2 has child cgroups (other tests' containers); then the benchmark runs everything in
a private mount namespace without the cgroup2 mount instead. If crun still fails, it is reported
unavailable and the rest goes on.

    .venv/bin/python bench/runtime_start.py [--runs 20] [--warmup 2] [--runtime NAME=PATH ...]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "spec-fixtures" / "out" / "bundle"
PYTHON = REPO / ".venv" / "bin" / "python"
RUNTIMES = {"pyrunc": str(REPO / ".venv" / "bin" / "pyrunc"), "runc": "/usr/sbin/runc", "crun": "/usr/bin/crun"}
HUGETLB = Path("/sys/fs/cgroup/hugetlb")
CGROUP2 = Path("/sys/fs/cgroup/unified")
OPS = ("run", "lifecycle", "exec")


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + sys
    rss: int  # KiB, the largest of the processes measured


@dataclass
class Runtime:
    name: str
    binary: str
    root: Path
    bundle: Path
    bundle_sleep: Path
    samples: dict[str, list[Sample]] = field(default_factory=lambda: {op: [] for op in OPS})
    exec_target: str = ""

    def argv(self, *args: str) -> list[str]:
        return [self.binary, "--root", str(self.root), *args]


# Peak RSS needs a small parent: a child forked (or vforked) by this Python inherits its ~15 MB
# as the starting high-water mark, and ru_maxrss would never read lower. So a static C spawner
# forks each command, waits for it with wait4 and prints: status, wall ns, user+sys us, maxrss KiB.
SPAWNER_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct timespec a, b;
    struct rusage ru;
    int status;
    if (argc < 2) return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 3;
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%d %lld %lld %ld\n", status, (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
           (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
           ru.ru_maxrss);
    return 0;
}
"""
SPAWNER: Path | None = None


def build_spawner(work: Path) -> Path:
    src = work / "spawn.c"
    src.write_text(SPAWNER_C)
    # static keeps its own RSS (the floor of every figure) at ~0.5 MB; dynamic if libc.a is missing
    for static in (["-static"], []):
        if subprocess.run(["gcc", "-O2", *static, "-o", str(work / "spawn"), str(src)]).returncode == 0:
            return work / "spawn"
    sys.exit("cannot build the spawner: gcc is needed (apt-get install gcc)")


def measure(argv: list[str]) -> Sample:
    """One process, run to its end: wall time, and its (and its waited-for children's) rusage."""
    # stderr to a file, not a pipe: a detached container inherits it and would hold a pipe open
    with tempfile.TemporaryFile() as err:
        out = subprocess.run([str(SPAWNER), *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                             check=True).stdout
        status, wall_ns, cpu_us, rss = (int(x) for x in out.split())
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {code}: {err.read().decode(errors='replace').strip()}")
    return Sample(wall_ns / 1e9, cpu_us / 1e6, rss)


def combine(samples: list[Sample], wall: float) -> Sample:
    return Sample(wall, sum(s.cpu for s in samples), max(s.rss for s in samples))


def one_round(rt: Runtime, n: int) -> dict[str, Sample]:
    cid = f"bench-{os.getpid()}-{rt.name}-{n}"
    out = {"run": measure(rt.argv("run", "-b", str(rt.bundle), cid))}
    t = time.perf_counter()
    parts = [measure(rt.argv("create", "-b", str(rt.bundle), cid)), measure(rt.argv("start", cid)),
             measure(rt.argv("delete", "-f", cid))]
    out["lifecycle"] = combine(parts, time.perf_counter() - t)
    out["exec"] = measure(rt.argv("exec", rt.exec_target, "/bin/true"))
    return out


# ----- setup and clean-up


def write_bundle(path: Path, args: list[str]) -> Path:
    cfg = json.loads((FIXTURE / "config.json").read_text())
    cfg["process"]["args"] = args
    cfg["process"]["terminal"] = False
    cfg["root"] = {"path": str(FIXTURE / "rootfs"), "readonly": True}
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps(cfg))
    return path


def mount_hugetlb_v1() -> bool:
    """Move hugetlb to a v1 hierarchy for crun; True if we mounted it (and must undo it)."""
    if HUGETLB.is_mount():
        print(f"note: {HUGETLB} is already a mount; using it as it is")
        return False
    created = not HUGETLB.exists()
    if created:
        HUGETLB.mkdir()
    r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", str(HUGETLB)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if created:
            HUGETLB.rmdir()
        print(f"note: cannot move hugetlb to a cgroup v1 mount ({r.stderr.strip().splitlines()[0]}): "
              f"cgroup2 still has child cgroups ({', '.join(_cgroup2_children()) or 'none'})")
        return False
    print(f"note: mounted the hugetlb controller as cgroup v1 at {HUGETLB} so crun 1.8.1 accepts this "
          "machine's cgroups; it is unmounted at the end")
    return True


def _cgroup2_children() -> list[str]:
    return sorted(p.name for p in CGROUP2.iterdir() if p.is_dir()) if CGROUP2.is_dir() else []


def hide_cgroup2() -> bool:
    """The fallback when hugetlb cannot move: this process (and every runtime it starts) enters a
    private mount namespace without the cgroup2 mount, so all three see plain cgroup v1 (no
    hugetlb). Nothing on the host changes and nothing needs undoing."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clone_newns, ms_rec, ms_private, mnt_detach = 0x20000, 0x4000, 1 << 18, 2
    if (libc.unshare(clone_newns) != 0 or libc.mount(b"none", b"/", None, ms_rec | ms_private, None) != 0
            or libc.umount2(str(CGROUP2).encode(), mnt_detach) != 0):
        print(f"note: cannot hide cgroup2 ({os.strerror(ctypes.get_errno())}): crun is unavailable")
        return False
    print(f"note: the runtimes run in a private mount namespace without {CGROUP2} (plain cgroup v1, no "
          "hugetlb) so crun 1.8.1 accepts it; the host's mounts are untouched")
    return True


def _hugetlb_on_v1() -> bool:
    """hugetlb still bound to a v1 hierarchy (mounted or lingering), as /proc/self/cgroup lists it."""
    return any(line.split(":")[1] == "hugetlb" for line in Path("/proc/self/cgroup").read_text().splitlines())


def unmount_hugetlb_v1() -> None:
    subs = sorted((p for p in HUGETLB.glob("**/") if p != HUGETLB), key=lambda p: len(str(p)), reverse=True)
    for sub in subs:
        try:
            sub.rmdir()
        except OSError as e:
            print(f"warning: cannot remove {sub}: {e}", file=sys.stderr)
    # The kernel gives hugetlb back to cgroup2 only once the unmounted v1 hierarchy has lost its
    # last reference, which can take a while after containers ran in it. Until then hugetlb is
    # bound to no mount at all, and other programs' cgroup code breaks (containerd's OOM events,
    # for one): wait for it, and if it lingers, mount it once more and let go again.
    for _ in range(3):
        r = subprocess.run(["umount", str(HUGETLB)], capture_output=True, text=True)
        if r.returncode != 0:
            print(f"warning: umount {HUGETLB}: {r.stderr.strip()}", file=sys.stderr)
            return
        deadline = time.monotonic() + 20
        while _hugetlb_on_v1() and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _hugetlb_on_v1():
            HUGETLB.rmdir()
            print(f"note: unmounted {HUGETLB} again; hugetlb is back on cgroup2")
            return
        subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", str(HUGETLB)], capture_output=True)
        time.sleep(1)
    print(f"warning: hugetlb stays on cgroup v1 at {HUGETLB}: umount it once the machine is idle", file=sys.stderr)


def remove_containers(rt: Runtime) -> None:
    if not rt.root.is_dir():
        return
    r = subprocess.run(rt.argv("list", "-q"), capture_output=True, text=True)
    for cid in r.stdout.split():
        subprocess.run(rt.argv("delete", "-f", cid), capture_output=True)


# ----- report


def fmt(values: list[float], scale: float, digits: int = 1) -> str:
    return (f"{statistics.median(values) * scale:.{digits}f} "
            f"({min(values) * scale:.{digits}f}-{max(values) * scale:.{digits}f})")


def report(runtimes: list[Runtime], floor: list[Sample], runs: int) -> None:
    print(f"\nmedian (min-max) over {runs} paired runs; wall and CPU in ms, peak RSS in MB")
    header = f"{'op':<10} {'runtime':<8} {'wall ms':>20} {'cpu ms':>20} {'peak RSS MB':>20}"
    print(header)
    print("-" * len(header))
    by_name = {rt.name: rt for rt in runtimes}
    for op in OPS:
        for rt in runtimes:
            s = rt.samples[op]
            print(f"{op:<10} {rt.name:<8} {fmt([x.wall for x in s], 1e3):>20} {fmt([x.cpu for x in s], 1e3):>20} "
                  f"{fmt([x.rss for x in s], 1 / 1024):>20}")
        for rt in runtimes:
            if rt.name in ("runc", "crun"):
                continue
            mine = rt.samples[op]
            for other in ("runc", "crun"):
                if other not in by_name:
                    continue
                theirs = by_name[other].samples[op]

                def ratio(key, mine=mine, theirs=theirs):
                    return statistics.median(key(x) for x in mine) / statistics.median(key(x) for x in theirs)

                paired = statistics.median(a.wall / b.wall for a, b in zip(mine, theirs, strict=True))
                label = f"{rt.name}÷{other}" if rt.name != "pyrunc" else "÷" + other
                print(f"{op:<10} {label:<8} {f'{ratio(lambda x: x.wall):.2f}x (paired {paired:.2f}x)':>20} "
                      f"{f'{ratio(lambda x: x.cpu):.2f}x':>20} {f'{ratio(lambda x: x.rss):.2f}x':>20}")
        print()
    print(f"{'floor':<10} {'python':<8} {fmt([x.wall for x in floor], 1e3):>20} {fmt([x.cpu for x in floor], 1e3):>20} "
          f"{fmt([x.rss for x in floor], 1 / 1024):>20}   ({PYTHON.name} -I -S -c pass)")
    print("÷runc / ÷crun rows: pyrunc's median over theirs (paired: median of the per-round wall ratios)")


# ----- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runtime", action="append", default=[], metavar="NAME=PATH",
                   help="one more runtime binary to time beside the others (e.g. another build of pyrunc)")
    args = p.parse_args()
    for extra in args.runtime:
        name, _, path = extra.partition("=")
        RUNTIMES[name] = os.path.abspath(path)
    if os.geteuid() != 0:
        sys.exit("runtime_start.py needs root")
    if not (FIXTURE / "config.json").exists():
        sys.exit(f"{FIXTURE} missing: run `make fixtures`")
    # SIGTERM/SIGHUP end the run through the finally blocks, like Ctrl-C
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    global SPAWNER
    work = Path(tempfile.mkdtemp(prefix="bench-runtime-", dir="/tmp"))
    mounted = False
    runtimes: list[Runtime] = []
    try:
        SPAWNER = build_spawner(work)
        want = [n for n, b in RUNTIMES.items() if os.access(b, os.X_OK)]
        for name in RUNTIMES:
            if name not in want:
                print(f"note: {RUNTIMES[name]} is not installed: {name} left out")
        if "crun" in want:
            mounted = mount_hugetlb_v1()
            if not mounted and not HUGETLB.is_mount() and not hide_cgroup2():
                want.remove("crun")
        for name in want:
            runtimes.append(Runtime(name, RUNTIMES[name], work / f"root-{name}",
                                    write_bundle(work / f"bundle-{name}", ["/bin/true"]),
                                    write_bundle(work / f"bundle-{name}-sleep", ["sleep", "1000000"])))
        for rt in list(runtimes):
            rt.exec_target = f"bench-{os.getpid()}-{rt.name}-exec"
            try:
                measure(rt.argv("run", "-d", "-b", str(rt.bundle_sleep), rt.exec_target))
                one_round(rt, -1)  # fails here, not halfway through the timed rounds
            except RuntimeError as e:
                if rt.name == "pyrunc":
                    raise
                print(f"note: {rt.name} is unavailable here: {e}")
                remove_containers(rt)
                runtimes.remove(rt)
        if "pyrunc" not in [rt.name for rt in runtimes]:
            sys.exit("pyrunc is not installed: run `make venv`")

        floor = []
        for n in range(args.warmup + args.runs):
            order = runtimes[n % len(runtimes):] + runtimes[:n % len(runtimes)]
            for rt in order:
                result = one_round(rt, n)
                if n >= args.warmup:
                    for op in OPS:
                        rt.samples[op].append(result[op])
            s = measure([str(PYTHON), "-I", "-S", "-c", "pass"])
            if n >= args.warmup:
                floor.append(s)
        report(runtimes, floor, args.runs)
    finally:
        for rt in runtimes:
            remove_containers(rt)
        if mounted:
            unmount_hugetlb_v1()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
