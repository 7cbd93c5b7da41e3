"""`compose up -d` until healthy, then `down -v`, of a 5-service app: pyctl compose beside docker-compose 1.29
(over dockerd) and podman-compose (over podman).

The app (COMPOSE below): web (httpd, health-checked every 100 ms) and a client gated on web being healthy,
a worker, and on a second network a store (httpd on a named volume) and an indexer that depends on it.
The fixture busybox is loaded into each engine, the engines run at once (a private pyruncd, a private
dockerd with its own bridge and iptables rules, a private podman with netavark networks; tests/harness),
and every round runs each engine once, the order rotating from round to round, so load from elsewhere
on the machine falls on all alike. A round of an engine is:
  up:   `up -d` (pyctl compose and docker-compose wait for web's health there, as client depends on it;
        podman-compose does not), then polling web's health until healthy;
  down: `down -v`, then checking that no container, network or volume of the project is left.
Printed: per engine the median, min and max of up, down and both; then each peer's median over pyctl's.

podman 4.3 runs health checks from systemd timers and there is no systemd here, so for podman the poll is
`podman healthcheck run` (what the timer would start). podman-compose 1.0.3's `down -v` leaves the
project's networks: they are pruned after each round, untimed (so its down does less than the others').
Everything (projects, networks, volumes, daemons,
temp dirs, firewall rules) is removed on the way out, failures included.

    .venv/bin/python bench/compose.py [--runs 7] [--engines pyctl,docker-compose,podman-compose]
"""

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.harness import dockerd as dockerd_harness  # noqa: E402
from tests.harness import podman as podman_harness  # noqa: E402
from tests.harness.podman_net import RUNC, NetworkedPodman  # noqa: E402
from tests.harness.pyruncd import VENV_BIN, Pyruncd  # noqa: E402

IMAGE_TAR = REPO / "spec-fixtures" / "out" / "busybox.tar"
DOCKER_COMPOSE = shutil.which("docker-compose") or "/usr/bin/docker-compose"
PODMAN_COMPOSE = shutil.which("podman-compose") or "/usr/bin/podman-compose"
PROJECT = "cbench"
# sh as PID 1 ignores SIGTERM: the loops trap it so that `down` does not wait out the grace period
LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done"
WAIT = "trap 'exit 0' TERM; wait"  # httpd as PID 1 would ignore SIGTERM too
COMPOSE = f"""
services:
  web:
    image: IMAGE
    command: ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && httpd -f -p 80 -h /www & {WAIT}"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 100ms
      timeout: 2s
      retries: 100
  client:
    image: IMAGE
    command: ["sh", "-c", "wget -q -O - http://web/; {LOOP}"]
    depends_on:
      web: {{condition: service_healthy}}
  worker:
    image: IMAGE
    command: ["sh", "-c", "{LOOP}"]
  store:
    image: IMAGE
    command: ["sh", "-c", "echo stored > /s/index.html && httpd -f -p 7000 -h /s & {WAIT}"]
    volumes: ["data:/s"]
    networks: [back]
  indexer:
    image: IMAGE
    command: ["sh", "-c", "wget -q -O - http://store:7000/; {LOOP}"]
    networks: [back]
    depends_on: [store]
networks:
  back: {{}}
volumes:
  data: {{}}
"""


@dataclass(kw_only=True)
class Engine:
    name: str
    compose: list[str]  # the compose program and its flags up to the command
    env: dict[str, str]
    healthy: list[str]  # exits 0 once web is healthy
    leftovers: list[list[str]]  # each lists names: those of the project are what down left
    tidy: list[str] | None = None  # untimed, after down: what down -v should have removed and does not

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=180,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(argv)} exited {r.returncode}:\n{r.stderr[-3000:]}")
        return r

    def round(self) -> tuple[float, float]:
        """(up until healthy, down -v) in ms."""
        t = time.perf_counter()
        self.run([*self.compose, "up", "-d"])
        deadline = time.monotonic() + 60
        while self.run(self.healthy, check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: web never became healthy")
            time.sleep(0.02)
        up = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        self.run([*self.compose, "down", "-v"])
        down = (time.perf_counter() - t) * 1000
        if self.tidy:
            self.run(self.tidy)
        left = [name for argv in self.leftovers for name in self.run(argv).stdout.split()
                if name.startswith(PROJECT) or name.startswith(f"pod_{PROJECT}")]
        if left:
            raise RuntimeError(f"{self.name}: down -v left {left}")
        return up, down


def _health_is(inspect: list[str]) -> list[str]:
    return ["sh", "-c", '[ "$("$@")" = healthy ]', "sh", *inspect]


def _names(*argv: str) -> list[str]:
    return [*argv, "--format", "{{.Name}}"]


def pyctl_engine(d: Pyruncd, workdir: Path) -> Engine:
    pyctl = str(VENV_BIN / "pyctl")
    return Engine(name="pyctl compose", env=d.env,
                  compose=[pyctl, "compose", "-p", PROJECT, "-f", str(workdir / "pyctl.yaml")],
                  healthy=_health_is([pyctl, "inspect", "-f", "{{.State.Health.Status}}", f"{PROJECT}-web-1"]),
                  leftovers=[[pyctl, "ps", "-a", "--format", "{{.Names}}"], _names(pyctl, "network", "ls"),
                             _names(pyctl, "volume", "ls")])


def docker_engine(dk: dockerd_harness.Dockerd, workdir: Path) -> Engine:
    return Engine(name="docker-compose", env=dk.env,
                  compose=[DOCKER_COMPOSE, "-p", PROJECT, "-f", str(workdir / "docker.yaml")],
                  healthy=_health_is(dk.docker_argv("inspect", "-f", "{{.State.Health.Status}}", f"{PROJECT}_web_1")),
                  leftovers=[dk.docker_argv("ps", "-a", "--format", "{{.Names}}"),
                             _names(*dk.docker_argv("network", "ls")), _names(*dk.docker_argv("volume", "ls"))])


def podman_engine(pm: NetworkedPodman, workdir: Path) -> Engine:
    return Engine(name="podman-compose", env=pm.env,
                  compose=[PODMAN_COMPOSE, *pm.compose_flags(), "-p", PROJECT, "-f", str(workdir / "podman.yaml")],
                  healthy=pm.podman_argv("healthcheck", "run", f"{PROJECT}_web_1", runtime=RUNC),
                  tidy=pm.podman_argv("network", "prune", "--force"),
                  leftovers=[pm.podman_argv("ps", "-a", "--format", "{{.Names}}"), _names(*pm.podman_argv("pod", "ls")),
                             _names(*pm.podman_argv("network", "ls")), _names(*pm.podman_argv("volume", "ls"))])


def row(name: str, times: list[float]) -> str:
    return f"{name:<36} median {statistics.median(times):8.1f} ms   min {min(times):8.1f}   max {max(times):8.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--engines", default="pyctl,docker-compose,podman-compose")
    a = ap.parse_args()
    wanted = a.engines.split(",")
    engines: list[Engine] = []
    skipped: list[str] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="compose-bench-")))
        if "pyctl" in wanted:
            d = stack.enter_context(Pyruncd())
            d.pyctl("load", "-i", str(IMAGE_TAR))
            (workdir / "pyctl.yaml").write_text(COMPOSE.replace("IMAGE", "busybox"))
            engines.append(pyctl_engine(d, workdir))
        if "docker-compose" in wanted:
            if why := dockerd_harness.available() or _missing(DOCKER_COMPOSE, "docker-compose"):
                skipped.append(f"docker-compose: skipped ({why})")
            else:
                dk = stack.enter_context(dockerd_harness.Dockerd(network=True))
                dk.load_image(IMAGE_TAR)
                (workdir / "docker.yaml").write_text(COMPOSE.replace("IMAGE", "busybox"))
                engines.append(docker_engine(dk, workdir))
        if "podman-compose" in wanted:
            if why := podman_harness.available() or _missing(PODMAN_COMPOSE, "podman-compose"):
                skipped.append(f"podman-compose: skipped ({why})")
            else:
                pm = stack.enter_context(NetworkedPodman())
                pm.load_image(IMAGE_TAR)
                (workdir / "podman.yaml").write_text(COMPOSE.replace("IMAGE", pm.image))
                engines.append(podman_engine(pm, workdir))
        for e in engines:  # warm caches once; a project left by a failed round is taken down on the way out
            stack.callback(e.run, [*e.compose, "down", "-v"], False)
            e.round()
        ups: dict[str, list[float]] = {e.name: [] for e in engines}
        downs: dict[str, list[float]] = {e.name: [] for e in engines}
        for i in range(a.runs):
            for e in engines[i % len(engines):] + engines[:i % len(engines)]:
                up, down = e.round()
                ups[e.name].append(up)
                downs[e.name].append(down)
    print(f"wall time over {a.runs} interleaved rounds:")
    for e in engines:
        both = [u + d for u, d in zip(ups[e.name], downs[e.name], strict=True)]
        print(row(f"{e.name} up -d until healthy", ups[e.name]))
        print(row(f"{e.name} down -v", downs[e.name]))
        print(row(f"{e.name} both", both))
    print("\n".join(skipped))
    if engines and engines[0].name == "pyctl compose":
        base = engines[0].name
        print(f"ratios of medians, peer / {base} (above 1: pyctl compose is faster):")
        for e in engines[1:]:
            ratio = [statistics.median(m[e.name]) / statistics.median(m[base]) for m in (ups, downs)]
            both = (statistics.median([u + d for u, d in zip(ups[e.name], downs[e.name], strict=True)])
                    / statistics.median([u + d for u, d in zip(ups[base], downs[base], strict=True)]))
            print(f"{e.name:<20} up {ratio[0]:5.2f}x   down {ratio[1]:5.2f}x   both {both:5.2f}x")
    return 0


def _missing(path: str, package: str) -> str:
    return "" if Path(path).exists() else f"{path} is not installed (apt-get install {package})"


if __name__ == "__main__":
    sys.exit(main())
