"""The docker tutorials' kinds of Dockerfiles, adapted to busybox, built by pyctl and by dockerd 20.10's classic
builder (DOCKER_BUILDKIT=0): the images must give the same `run` output, the same config (Cmd, Entrypoint, Env,
WorkingDir, User, ExposedPorts, Volumes, Labels, StopSignal, Healthcheck...) and the same history lines, but
for the source hashes of COPY and ADD.

tests/e2e/test_build.py compares four other Dockerfiles, instruction by instruction; these are the shapes
people copy from the tutorials: a static site served by httpd, an app with an entrypoint script, a
"build, test, then copy the artifact" multi-stage build ending on scratch, a service running as its own user
with a health check.
"""

import json
import os

import pytest

from tests.harness.build_compare import CONFIG_FIELDS, classic_build, context, without_source_hashes
from tests.harness.busybox_daemon import busybox_daemon, inspect
from tests.harness.dockerd import Dockerd
from tests.harness.dockerd import available as dockerd_available
from tests.harness.fixtures import busybox_tar

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
    pytest.mark.engines,
]

# name -> (Dockerfile, context files ("__" is a "/"), build args, the `run` arguments whose output must match;
# [] runs the image's own command)
TUTORIALS = {
    "static-site": ("""\
FROM busybox
LABEL description="a static site served by busybox httpd"
COPY site/ /var/www/
EXPOSE 80 443
CMD ["httpd", "-f", "-v", "-p", "80", "-h", "/var/www"]
""", {"site__index.html": "<h1>Hello from the tutorial</h1>\n", "site__css__style.css": "h1 { color: teal; }\n"},
        (), [["sh", "-c", "httpd -p 8080 -h /var/www; for i in 1 2 3 4 5 6 7 8 9 10; do "
                         "wget -qO- http://127.0.0.1:8080/ && wget -qO- http://127.0.0.1:8080/css/style.css && exit 0;"
                         " sleep 0.2; done; exit 1"]]),
    "app-entrypoint": ("""\
FROM busybox
ARG APP_VERSION=1.0.0
ENV APP_HOME=/usr/src/app \\
    APP_VERSION=${APP_VERSION} \\
    NODE_ENV=production
WORKDIR $APP_HOME
COPY package.txt ./
RUN echo "installing dependencies for $APP_VERSION" \\
 && mkdir -p node_modules \\
 && cp package.txt node_modules/installed.txt
COPY . .
RUN chmod +x docker-entrypoint.sh
ENTRYPOINT ["./docker-entrypoint.sh"]
CMD ["serve", "--port", "3000"]
""", {"package.txt": "left-pad 1.3.0\n", ".dockerignore": "*.log\nnode_modules\n", "debug.log": "not sent\n",
      "node_modules__stale.txt": "not sent either\n",
      "docker-entrypoint.sh": '#!/bin/sh\nset -e\necho "entrypoint: $* ($APP_VERSION, $NODE_ENV) in $(pwd)"\n'
                              "ls -A . node_modules\n"},
        ("--build-arg", "APP_VERSION=2.1.0"), [[], ["migrate", "--dry-run"]]),
    "multi-stage-artifact": ("""\
FROM busybox AS builder
WORKDIR /build
COPY src/ ./src/
RUN mkdir -p /out \\
 && cat src/header.sh src/main.sh > /out/app \\
 && chmod 755 /out/app

FROM busybox AS tester
COPY --from=builder /out/app /usr/local/bin/app
RUN app --self-test > /tested

FROM scratch
COPY --from=builder /bin/busybox /bin/busybox
COPY --from=builder /out/app /app
COPY --from=tester /tested /tested
ENTRYPOINT ["/bin/busybox", "sh", "/app"]
""", {"src__header.sh": "#!/bin/sh\nNAME=artifact\n",
      "src__main.sh": 'if [ "$1" = --self-test ]; then echo "self-test of $NAME ok"; else echo "$NAME says: $*"; fi\n'},
        (), [[], ["hi", "there"], ["--self-test"]]),
    "service-user-health": ("""\
FROM busybox
LABEL org.opencontainers.image.title="tutorial-service" \\
      org.opencontainers.image.version="1.2.3" \\
      maintainer="docs@example.com"
RUN echo 'app:x:1000:1000:app user:/home/app:/bin/sh' >> /etc/passwd \\
 && echo 'app:x:1000:' >> /etc/group \\
 && mkdir -p /home/app /data \\
 && chown app:app /home/app /data
VOLUME /data
USER app
WORKDIR /home/app
COPY --chown=app:app service.sh ./
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \\
  CMD wget -qO- http://localhost:8080/health || exit 1
STOPSIGNAL SIGTERM
EXPOSE 8080/tcp
CMD ["sh", "service.sh"]
""", {"service.sh": 'echo "running as $(id -un) ($(id -u):$(id -g)) in $(pwd)"\n'
                    "stat -c '%n %U:%G %a' /data /home/app /home/app/service.sh\n"},
        (), [[]]),
}


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(scope="module")
def classic(tmp_path_factory):
    if dockerd_available():
        pytest.skip(dockerd_available())
    with Dockerd() as docker:
        docker.load_image(busybox_tar(tmp_path_factory.mktemp("busybox")))
        yield docker


@pytest.mark.parametrize("name", sorted(TUTORIALS))
def test_a_tutorial_dockerfile_gives_dockers_image(d, classic, tmp_path, name):
    dockerfile, files, build_args, commands = TUTORIALS[name]
    path = context(tmp_path, dockerfile, **files)
    tag = f"tutorial-{name}"
    args = ("--network", "none", *build_args, "-t", tag)
    ours = d.pyctl("build", *args, str(path))
    theirs = classic_build(classic, path, *args)
    assert theirs.returncode == 0, theirs.stderr
    try:
        steps = [line for line in ours.stdout.splitlines() if line.startswith("Step ")]
        assert steps == [line for line in theirs.stdout.splitlines() if line.startswith("Step ")]

        our_config = inspect(d, tag)["Config"]
        their_config = json.loads(classic.docker("inspect", tag).stdout)[0]["Config"]
        for field in CONFIG_FIELDS:
            assert (our_config.get(field) or None) == (their_config.get(field) or None), field

        for command in commands:
            our_run = d.pyctl("run", "--rm", tag, *command, check=False)
            their_run = classic.docker("run", "--rm", tag, *command, check=False)
            assert (our_run.returncode, our_run.stdout) == (their_run.returncode, their_run.stdout.decode()), command

        # every line docker's history has, in its order, and no more lines
        their_history = classic.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout.decode()
        our_history = without_source_hashes(d.pyctl("history", "--no-trunc", tag).stdout)
        at = 0
        for created_by in map(without_source_hashes, their_history.splitlines()):
            found = our_history.find(created_by, at)
            assert found >= 0, f"{created_by!r} not in (the rest of) {our_history[at:]}"
            at = found + len(created_by)
        assert (len(d.pyctl("history", "-q", tag).stdout.split())
                == len(classic.docker("history", "-q", tag).stdout.split()))
    finally:
        d.pyctl("rmi", tag, check=False)
        classic.docker("rmi", tag, check=False)
