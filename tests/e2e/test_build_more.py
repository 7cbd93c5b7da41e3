"""pyctl build, BuildKit's features past the classic builder: RUN --mount (cache, bind, tmpfs, secret)."""

import os
import re
import uuid
from pathlib import Path

import pytest

from tests.harness.build_compare import assert_build_left_nothing, context
from tests.harness.busybox_daemon import busybox_daemon, inspect

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="builds mount overlays and run containers: root only"),
]


@pytest.fixture(scope="module")
def d():
    with busybox_daemon() as daemon:
        yield daemon


@pytest.fixture(autouse=True)
def no_leftovers(d):
    yield
    assert_build_left_nothing(d)



def build(d, path: Path, *args: str, check: bool = True, timeout: float = 300):
    return d.pyctl("build", *args, str(path), check=check, timeout=timeout)


def layers(d, image: str) -> list[str]:
    return inspect(d, image)["RootFS"]["Layers"]


def run(d, image: str, *cmd: str) -> str:
    return d.pyctl("run", "--rm", image, *cmd).stdout


def test_a_cache_mount_persists_across_builds_stays_out_of_the_image_and_goes_with_prune(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
RUN --mount=type=cache,target=/var/cache/app sh -c 'echo run >> /var/cache/app/log; echo "lines: $(wc -l < /var/cache/app/log)"'
""")
    first = build(d, path, "-t", "cachemount:1", "--no-cache")
    assert "lines: 1" in first.stdout
    second = build(d, path, "-t", "cachemount:1", "--no-cache")
    assert "lines: 2" in second.stdout
    # the mount target the runtime had to make is not in the layer, nor what went into the cache
    assert run(d, "cachemount:1", "sh", "-c", "test -e /var/cache/app || echo gone") == "gone\n"
    assert layers(d, "cachemount:1") == layers(d, "busybox")  # the step changed nothing in the image
    assert "lines: 2" not in build(d, path, "-t", "cachemount:1").stdout  # the step itself is cached
    d.pyctl("builder", "prune", "-f")
    assert "lines: 1" in build(d, path, "-t", "cachemount:1").stdout


def test_a_cache_mount_takes_its_id_owner_and_mode_when_made(d, tmp_path):
    name = uuid.uuid4().hex[:8]
    path = context(tmp_path, f"""\
FROM busybox
RUN --mount=type=cache,id={name},target=/a,uid=1000,gid=1001,mode=0710 sh -c 'stat -c "%u %g %a" /a; touch /a/f'
RUN --mount=type=cache,id={name},target=/b,sharing=locked ls /b
""")
    out = build(d, path, "-t", "cachemode:1").stdout
    assert "1000 1001 710\n" in out
    assert "\nf\n" in out  # the same id, another target: the same directory


def test_a_cache_mount_target_through_a_link_stays_in_the_rootfs(d, tmp_path):
    name = f"pyrunc-build-test-{uuid.uuid4().hex[:8]}"
    path = context(tmp_path, f"""\
FROM busybox
RUN ln -s /tmp /escape
RUN --mount=type=cache,target=/escape/{name} sh -c 'ln -s /etc /escape/{name}/etc; touch /escape/{name}/etc/x || true'
RUN --mount=type=cache,target=/escape/{name} ls /escape/{name}
""")
    out = build(d, path, "-t", "cachelink:1").stdout
    assert "etc" in out
    assert not Path("/tmp", name).exists() and not Path("/etc/x").exists()


def test_a_bind_mount_reads_the_context_or_a_stage_read_only_and_leaves_no_trace(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox AS make
RUN mkdir /out && echo from-stage > /out/made
FROM busybox
RUN --mount=type=bind,source=sub,target=/src cat /src/a.txt && ! touch /src/new 2>/dev/null
RUN --mount=target=/whole cat /whole/sub/a.txt
RUN --mount=type=bind,from=make,source=/out,target=/o cat /o/made
RUN --mount=type=bind,source=sub,target=/src,rw sh -c 'echo changed > /src/a.txt'
RUN --mount=type=bind,source=sub/a.txt,target=/etc/one-file cat /etc/one-file
""")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("context-file\n")
    out = build(d, path, "-t", "bindmount:1").stdout
    assert out.count("context-file") == 3 and "from-stage" in out
    assert run(d, "bindmount:1", "sh", "-c", "ls / /etc | grep -c -e '^src$' -e '^o$' -e '^whole$' -e one-file; true") == "0\n"
    assert (tmp_path / "sub" / "a.txt").read_text() == "context-file\n"
    path.joinpath("sub", "a.txt").write_text("other\n")  # a bind's source content is in the step's key
    assert "other" in build(d, path, "-t", "bindmount:1").stdout


def test_a_tmpfs_mount_is_a_tmpfs_for_the_step_only(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
RUN --mount=type=tmpfs,target=/scratch,size=1m sh -c 'grep " /scratch tmpfs" /proc/mounts && echo x > /scratch/y'
""")
    out = build(d, path, "-t", "tmpfsmount:1").stdout
    assert "size=1024k" in out
    assert "scratch" not in run(d, "tmpfsmount:1", "ls", "/")


def test_a_secret_is_readable_in_its_step_and_in_no_layer(d, tmp_path):
    secret = tmp_path / "token"
    secret.write_text("s3cr3t")
    path = context(tmp_path / "ctx", """\
FROM busybox
RUN --mount=type=secret,id=token sh -c 'cat /run/secrets/token; echo; stat -c %a /run/secrets/token'
RUN --mount=type=secret,id=other,target=/etc/other,required=false sh -c 'test ! -s /etc/other && echo skipped'
""")
    out = build(d, path, "-t", "secretmount:1", "--secret", f"id=token,src={secret}").stdout
    assert "s3cr3t\n400\n" in out and "skipped" in out
    assert run(d, "secretmount:1", "sh", "-c", "ls /run/secrets /etc/other 2>&1; true").count("No such file") == 2
    required = context(tmp_path / "ctx2", "FROM busybox\nRUN --mount=type=secret,id=gone,required cat /run/secrets/gone\n")
    failed = build(d, required, check=False)
    assert failed.returncode != 0 and "secret gone: not found" in failed.stderr


def test_a_bad_mount_is_a_parse_error_with_its_line(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN --mount=type=cache,target=/x,sharing=odd true\n")
    failed = build(d, path, check=False)
    assert failed.returncode != 0
    assert 'dockerfile parse error on line 2: unsupported sharing value "odd"' in failed.stderr


LAST_MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
LAST_MODIFIED_EPOCH = 1445412480


@pytest.fixture(scope="module")
def web():
    """A local http server (the daemon fetches ADD's URLs itself); `web.files` can be changed by a test."""
    import http.server
    import threading

    files = {"/files/hello.txt": b"hello\n", "/archive.tar.gz": gzip_tar(), "/": b"index\n"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/files/hello.txt")
                self.end_headers()
            elif self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
            elif self.path == "/huge":
                self.send_response(200)
                self.send_header("Content-Length", str(100 << 30))
                self.end_headers()
            elif self.path in files:
                self.send_response(200)
                self.send_header("Content-Length", str(len(files[self.path])))
                self.send_header("Last-Modified", LAST_MODIFIED)
                self.end_headers()
                self.wfile.write(files[self.path])
            else:
                self.send_error(404)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.files = files
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def gzip_tar() -> bytes:
    import gzip
    import io
    import tarfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tf:
        info = tarfile.TarInfo("inside.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"in\n"))
    return gzip.compress(raw.getvalue())


def test_add_of_a_url_is_fetched_by_the_daemon_with_docker_s_name_mode_and_time(d, web, tmp_path):
    import hashlib

    checksum = "sha256:" + hashlib.sha256(b"hello\n").hexdigest()
    path = context(tmp_path, f"""\
FROM busybox
ADD {web.url}/files/hello.txt /downloads/
ADD {web.url}/archive.tar.gz /downloads/
ADD {web.url}/redirect /named.txt
ADD --checksum={checksum} {web.url}/files/hello.txt /checked
""")
    first = build(d, path, "-t", "addurl:1")
    out = run(d, "addurl:1", "sh", "-c", "stat -c '%a %Y %n' /downloads/* /named.txt /checked; cat /named.txt")
    assert out == (f"600 {LAST_MODIFIED_EPOCH} /downloads/archive.tar.gz\n"  # not extracted
                   f"600 {LAST_MODIFIED_EPOCH} /downloads/hello.txt\n"
                   f"600 {LAST_MODIFIED_EPOCH} /named.txt\n600 {LAST_MODIFIED_EPOCH} /checked\nhello\n")
    again = build(d, path, "-t", "addurl:1")
    assert again.stdout.count("Using cache") == 4 and built(again) == built(first)
    web.files["/archive.tar.gz"] = b"not an archive any more\n"
    try:
        changed = build(d, path, "-t", "addurl:1")  # fetched again: the key is the content
    finally:
        web.files["/archive.tar.gz"] = gzip_tar()
    assert changed.stdout.count("Using cache") == 1
    assert run(d, "addurl:1", "cat", "/downloads/archive.tar.gz") == "not an archive any more\n"


@pytest.mark.parametrize(("line", "words"), [
    ("ADD --checksum=sha256:{zeros} {url}/files/hello.txt /x", "digest mismatch sha256:"),
    ("ADD {url}/huge /x", "the download is larger than the maximum of"),
    ("ADD {url}/nothing-here /x", "with status 404 Not Found"),
    ("ADD {url}/loop /x", "failed to GET"),
    ("ADD {url}/ /dir/", "cannot determine filename from url"),
])
def test_add_of_a_url_refused_says_why_in_one_line(d, web, tmp_path, line, words):
    path = context(tmp_path, "FROM busybox\n" + line.format(url=web.url, zeros="0" * 64) + "\n")
    failed = build(d, path, check=False)
    assert failed.returncode != 0
    message = failed.stderr.strip().splitlines()
    assert len(message) == 1 and words in message[0], failed.stderr


def built(result) -> str:
    return result.stdout.split("Successfully built ")[1].split()[0]



def test_heredocs_feed_a_command_run_as_scripts_and_become_files(d, tmp_path):
    path = context(tmp_path, """\
FROM busybox
ARG WHO=world
RUN cat <<EOF > /greeting && cat <<'RAW' > /raw
hello $WHO
EOF
kept $WHO
RAW
RUN <<EOF
#!/bin/sh
echo "script says $WHO" > /script.out
EOF
RUN <<EOF
#!/usr/bin/awk -f
BEGIN { print "awk ran" > "/awk.out" }
EOF
RUN <<-EOT sh
\techo tabs stripped > /tabs
\tEOT
COPY <<EOF /copied.txt
inline $WHO
EOF
""")
    first = build(d, path, "-t", "heredocs:1")
    out = run(d, "heredocs:1", "cat", "/greeting", "/raw", "/script.out", "/awk.out", "/tabs", "/copied.txt")
    assert out == "hello world\nkept $WHO\nscript says world\nawk ran\ntabs stripped\ninline world\n"
    assert run(d, "heredocs:1", "sh", "-c", "ls /dev/pipes 2>&1; true").count("No such file") == 1
    assert built(build(d, path, "-t", "heredocs:1")) == built(first)
    path.joinpath("Dockerfile").write_text(path.joinpath("Dockerfile").read_text().replace("awk ran", "awk again"))
    changed = build(d, path, "-t", "heredocs:1")  # a script's text is in its step's key
    assert run(d, "heredocs:1", "cat", "/awk.out") == "awk again\n" and changed.stdout.count("Using cache") == 3


def test_a_silent_step_shows_it_is_alive_every_ten_seconds_where_asked(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nRUN printf started; sleep 11; echo done\n")
    plain = build(d, path, "--progress", "plain", "--no-cache").stdout
    assert re.search(r"started\n \.\.\. still running \(1[01]s\)\ndone\n", plain), plain
    assert "still running" not in build(d, path, "--no-cache").stdout  # not a terminal: docker's output alone


def test_dockerignore_is_applied_by_pyctl_so_ignored_files_never_cross_the_socket(d, tmp_path):
    path = context(tmp_path, "FROM busybox\nCOPY . /ctx/\n", **{
        ".dockerignore": "big.img\nlogs\n!logs/keep.txt\n",
        "app.txt": "app\n", "logs__keep.txt": "kept\n", "logs__debug.log": "noise\n"})
    with open(path / "big.img", "wb") as big:  # sparse: past the daemon's 16 GiB context limit if it were sent
        big.truncate(17 << 30)
    out = build(d, path, "-t", "ignored:1", timeout=120).stdout
    assert "Successfully built" in out
    listing = run(d, "ignored:1", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/app.txt", "/ctx/logs/keep.txt"]
