"""`pyctl build` beside `docker build` (dockerd 20.10's classic builder) and `buildah bud`, same Dockerfiles,
same contexts, in one run. Prints medians side by side with ratios to docker.

Three Dockerfiles (issue #15 item 8), their contexts generated in a temp dir:
- app: a 12-step busybox app (ARG ENV LABEL WORKDIR, two COPYs, three RUNs, EXPOSE CMD);
- multi-stage: a build stage, a test stage reading its artifact, a final stage copying from both;
- copy-200mb: one COPY of a 200 MB directory (50 files of random bytes) and a CMD.

Each is built three ways, every round:
- cold: `--no-cache`, after the previous round's images were removed (only the base image is there);
- cached: the same build again, unchanged (every step a cache hit; the same image id is checked);
- changed: one source file rewritten (src/main.sh for the first two, data/version.txt inside the 200 MB
  COPY for the third), so the build is made again from the step that reads it.
Rounds rotate the engines' order, so load from other work on the machine drifts onto all alike; the
figures are medians over --runs rounds, wall time of the client command.

Engines, each private and removed at the end (also on failure), the fixture busybox loaded into each:
pyruncd (tests/harness/pyruncd.py; `pyctl build --network none`), dockerd 20.10 (tests/harness/dockerd.py,
no bridge; the 20.10 CLI /usr/bin/docker with DOCKER_BUILDKIT=0), buildah 1.28 (tests/harness/buildah.py:
overlay storage under a temp root, RUN on runc without network; `bud --layers`, so it caches as the
others do). Every build is `-q --iidfile`.

Targets (issue #15): cold <= docker's classic builder; a cached rebuild <= 1.0x docker's.

    .venv/bin/python bench/build.py [--runs 3] [--only app,multi-stage,copy-200mb] [--copy-mb 200]
"""

import argparse
import contextlib
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

from tests.harness import buildah as buildah_harness  # noqa: E402
from tests.harness import dockerd as dockerd_harness  # noqa: E402
from tests.harness.fixtures import busybox_tar  # noqa: E402
from tests.harness.pyruncd import VENV_BIN, Pyruncd  # noqa: E402

DOCKER_20 = "/usr/bin/docker"  # Debian's 20.10 CLI, the classic builder's own client
MODES = ("cold", "cached", "changed")

APP = """\
FROM busybox
ARG VERSION=1.0
ENV APP_HOME=/app APP_VERSION=$VERSION
LABEL org.example.app=bench
WORKDIR /app
COPY config/ ./config/
RUN mkdir -p /app/data && echo ready > /app/data/state
COPY src/ ./src/
RUN cat src/*.sh > app.sh && chmod +x app.sh
RUN ./app.sh > build.log
EXPOSE 8080
CMD ["./app.sh"]
"""
MULTI_STAGE = """\
FROM busybox AS build
WORKDIR /src
COPY src/ .
RUN cat *.sh > /artifact && chmod +x /artifact

FROM busybox AS test
COPY --from=build /artifact /artifact
RUN /artifact > /test.log

FROM busybox
COPY --from=build /artifact /usr/local/bin/app
COPY --from=test /test.log /test.log
CMD ["app"]
"""
COPY_BIG = """\
FROM busybox
COPY data/ /data/
CMD ["ls", "/data"]
"""


def write_contexts(top: Path, copy_mb: int) -> dict[str, tuple[Path, Path]]:
    """name -> (context dir, the source file a 'changed' build rewrites)"""
    cases = {}
    for name, dockerfile in (("app", APP), ("multi-stage", MULTI_STAGE)):
        ctx = top / name
        (ctx / "src").mkdir(parents=True)
        (ctx / "config").mkdir()
        (ctx / "Dockerfile").write_text(dockerfile)
        (ctx / "config" / "app.conf").write_text("level=info\n")
        (ctx / "src" / "lib.sh").write_text("#!/bin/sh\ngreet() { echo \"hello from $1\"; }\n")
        (ctx / "src" / "main.sh").write_text("greet main\n")
        cases[name] = (ctx, ctx / "src" / "main.sh")
    ctx = top / "copy-200mb"
    (ctx / "data").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(COPY_BIG)
    chunk = 4 << 20
    for i in range(max(1, (copy_mb << 20) // chunk)):
        (ctx / "data" / f"blob{i:02d}.bin").write_bytes(os.urandom(chunk))
    (ctx / "data" / "version.txt").write_text("0\n")
    cases["copy-200mb"] = (ctx, ctx / "data" / "version.txt")
    return cases


class Engine:
    """One builder: its client's argv and environment for a build, and how to remove what a round made."""

    name = ""
    env: dict[str, str]

    def build_argv(self, ctx: Path, tag: str, iidfile: Path, no_cache: bool) -> list[str]:
        raise NotImplementedError

    def remove(self, tag: str) -> None:
        raise NotImplementedError


class PyctlEngine(Engine):
    name = "pyctl"

    def __init__(self, d: Pyruncd) -> None:
        self.d, self.env = d, d.env

    def build_argv(self, ctx, tag, iidfile, no_cache):
        return [str(VENV_BIN / "pyctl"), "build", "-q", "--network", "none", "--iidfile", str(iidfile),
                *(["--no-cache"] if no_cache else []), "-t", tag, str(ctx)]

    def remove(self, tag):
        self.d.pyctl("rmi", tag, check=False)
        self.d.pyctl("image", "prune", "-f", check=False)  # the intermediate images, and their cache entries


class DockerEngine(Engine):
    name = "docker"

    def __init__(self, dk) -> None:
        self.dk = dk
        self.env = dict(dk.env, DOCKER_BUILDKIT="0")

    def build_argv(self, ctx, tag, iidfile, no_cache):
        return [DOCKER_20, "-H", self.dk.host, "build", "-q", "--network", "none", "--iidfile", str(iidfile),
                *(["--no-cache"] if no_cache else []), "-t", tag, str(ctx)]

    def remove(self, tag):
        self.dk.docker("rmi", tag, check=False)  # and the untagged parents, the classic builder's cache
        self.dk.docker("image", "prune", "-f", check=False)


class BuildahEngine(Engine):
    name = "buildah"

    def __init__(self, b) -> None:
        self.b, self.env = b, b.env

    def build_argv(self, ctx, tag, iidfile, no_cache):
        return self.b.buildah_argv("bud", "--layers", "-q", *self.b.bud_flags(), "--iidfile", str(iidfile),
                                   *(["--no-cache"] if no_cache else []), "-t", tag, str(ctx))

    def remove(self, tag):
        self.b.buildah("rmi", "-f", tag, check=False)
        self.b.buildah("rmi", "--prune", check=False)


def timed_build(engine: Engine, argv: list[str], iidfile: Path) -> tuple[float, str]:
    iidfile.unlink(missing_ok=True)
    t = time.perf_counter()
    r = subprocess.run(argv, env=engine.env, capture_output=True, timeout=900, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"{engine.name}: {' '.join(argv)} exited {r.returncode}:\n"
                           f"{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")
    return elapsed, iidfile.read_text().strip()


def one_round(engine: Engine, case: str, ctx: Path, changed: Path, rnd: int, work: Path,
              results: dict, warnings: list[str]) -> None:
    tag = f"bench-{case}:{rnd}"
    iidfile = work / f"iid-{engine.name}"
    try:
        cold, cold_id = timed_build(engine, engine.build_argv(ctx, tag, iidfile, True), iidfile)
        cached, cached_id = timed_build(engine, engine.build_argv(ctx, tag, iidfile, False), iidfile)
        if cached_id != cold_id:
            warnings.append(f"{engine.name} {case} round {rnd}: the unchanged rebuild gave a new id")
        text = changed.read_text()
        changed.write_text(f"{text.rstrip()}\necho {engine.name} round {rnd}\n")
        try:
            again, again_id = timed_build(engine, engine.build_argv(ctx, tag, iidfile, False), iidfile)
        finally:
            changed.write_text(text)
        if again_id == cold_id:
            warnings.append(f"{engine.name} {case} round {rnd}: a changed source gave the same id")
    finally:
        engine.remove(tag)
    for mode, seconds in zip(MODES, (cold, cached, again), strict=True):
        results[(case, mode, engine.name)].append(seconds)


def report(results: dict, cases: list[str], engines: list[str], runs: int) -> str:
    lines = [f"median wall time over {runs} interleaved rounds (s); ratio = engine / docker classic"]
    head = f"{'build':<12}{'mode':<9}" + "".join(f"{e:>10}" for e in engines)
    others = [e for e in engines if e != "docker"]
    if "docker" in engines:
        head += "".join(f"{e + '/docker':>16}" for e in others)
    lines.append(head)
    for case in cases:
        for mode in MODES:
            med = {e: statistics.median(results[(case, mode, e)]) for e in engines}
            line = f"{case:<12}{mode:<9}" + "".join(f"{med[e]:>10.2f}" for e in engines)
            if "docker" in engines:
                line += "".join(f"{med[e] / med['docker']:>15.2f}x" for e in others)
            lines.append(line)
    lines.append("min-max (s):")
    for case in cases:
        for mode in MODES:
            spans = "  ".join(f"{e} {min(results[(case, mode, e)]):.2f}-{max(results[(case, mode, e)]):.2f}"
                              for e in engines)
            lines.append(f"  {case:<12}{mode:<9}{spans}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="app,multi-stage,copy-200mb", help="comma-separated builds to run")
    ap.add_argument("--copy-mb", type=int, default=200)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("build.py: needs root (builds mount overlays and run containers)")
    work = Path(tempfile.mkdtemp(prefix="build-bench-", dir="/tmp"))
    results: dict[tuple[str, str, str], list[float]] = {}
    warnings: list[str] = []
    try:
        with contextlib.ExitStack() as stack:
            tar = busybox_tar(work)
            engines: list[Engine] = []
            d = stack.enter_context(Pyruncd())
            d.pyctl("load", "-i", str(tar))
            engines.append(PyctlEngine(d))
            if not (why := dockerd_harness.available()) and os.access(DOCKER_20, os.X_OK):
                dk = stack.enter_context(dockerd_harness.Dockerd())
                dk.load_image(tar)
                engines.append(DockerEngine(dk))
            else:
                print(f"docker: skipped ({why or DOCKER_20 + ' is not installed'})")
            if not (why := buildah_harness.available()):
                b = stack.enter_context(buildah_harness.Buildah())
                b.load_image(tar)
                engines.append(BuildahEngine(b))
            else:
                print(f"buildah: skipped ({why})")
            t = time.perf_counter()
            all_cases = write_contexts(work / "contexts", a.copy_mb)
            cases = [c for c in a.only.split(",") if c]
            print(f"contexts written in {time.perf_counter() - t:.1f} s; engines: "
                  f"{', '.join(e.name for e in engines)}; {a.runs} rounds", flush=True)
            for case in cases:
                for e in engines:
                    for mode in MODES:
                        results[(case, mode, e.name)] = []
            for rnd in range(a.runs):
                for case in cases:
                    ctx, changed = all_cases[case]
                    for e in engines[rnd % len(engines):] + engines[:rnd % len(engines)]:
                        one_round(e, case, ctx, changed, rnd, work, results, warnings)
                print(f"round {rnd + 1}/{a.runs} done", flush=True)
        print(report(results, cases, [e.name for e in engines], a.runs))
        for w in warnings:
            print(f"warning: {w}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
