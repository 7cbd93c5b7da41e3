"""inprocess.py: which binaries count as pyrunc, what the forked child looks like, and that pyrunc in
process answers as the exec'd pyrunc does. Each case runs in a fresh interpreter started as the
shim's console script starts one (flags and sys.path), since detection compares against those."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

VENV_BIN = Path(__file__).resolve().parents[3] / ".venv" / "bin"
SHIM_SCRIPT = VENV_BIN / "containerd-shim-pyrunc-v2"
PYRUNC = VENV_BIN / "pyrunc"
MAIN_IMPORT = "from pyrunc_shim.main import main"

pytestmark = pytest.mark.skipif(not (SHIM_SCRIPT.exists() and PYRUNC.exists()), reason="run `make venv`")


def as_shim(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    """Run body after the shim script's own preamble (interpreter, flags, sys.path)."""
    lines = SHIM_SCRIPT.read_text().splitlines()
    interpreter, *flags = lines[0][2:].split()
    program = tmp_path / "prog.py"
    program.write_text("\n".join(lines[1:lines.index(MAIN_IMPORT)]) + "\n" + body)
    return subprocess.run([interpreter, *flags, str(program)], capture_output=True, text=True, timeout=60)


def report(tmp_path: Path, body: str) -> dict:
    r = as_shim(tmp_path, body)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


def test_only_pyruncs_own_script_for_the_shims_interpreter_and_path_counts(tmp_path):
    text = PYRUNC.read_text()
    lines = text.splitlines(keepends=True)
    variants = {
        "copy": text,
        "other-path": "".join(line.replace("]", ", '/elsewhere']", 1) if line.startswith("sys.path") else line
                              for line in lines),
        "other-interpreter": lines[0].replace(os.path.dirname(lines[0][2:].split()[0]), "/usr/bin") + "".join(lines[1:]),
        "no-flags": lines[0].split()[0] + "\n" + "".join(lines[1:]),
        "other-program": SHIM_SCRIPT.read_text(),
        "extra-statement": "".join(f"{line}sys.path.append('/elsewhere')\n" if line.startswith("sys.path") else line
                                   for line in lines),
    }
    for name, content in variants.items():
        (tmp_path / name).write_text(content)
        (tmp_path / name).chmod(0o755)
    candidates = {"venv": str(PYRUNC), "runc": "/usr/sbin/runc", "true": "/bin/true",
                  "missing": str(tmp_path / "missing"), **{n: str(tmp_path / n) for n in variants}}
    seen = report(tmp_path, f"""
import json
from pyrunc_shim import inprocess, runc
candidates = {candidates!r}
print(json.dumps({{n: [inprocess.is_pyrunc(p), runc.Runc(p, "/r", "/l").in_process] for n, p in candidates.items()}}))
""")
    assert {n: v[0] for n, v in seen.items()} == {
        "venv": True, "copy": True, "runc": False, "true": False, "missing": False, "other-path": False,
        "other-interpreter": False, "no-flags": False, "other-program": False, "extra-statement": False}
    assert all(a == b for a, b in seen.values())


FAKE_CLI = """
import json, os, signal, sys
if os.environ.get("FAKE_IMPORT_FAILS"):
    raise ImportError("no pyrunc here")

def run():
    mode = sys.argv[1]
    if mode == "raise":
        raise RuntimeError("boom")
    if mode == "exit-text":
        raise SystemExit("bye")
    fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
    print(json.dumps({
        "argv": sys.argv, "stdin": sys.stdin.read(), "fds": fds, "ppid": os.getppid(),
        "sigchld": int(signal.getsignal(signal.SIGCHLD)), "wakeup": signal.set_wakeup_fd(-1),
        "sigpipe": int(signal.getsignal(signal.SIGPIPE)),
        "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
        "threads": len(os.listdir("/proc/self/task")),
        "comm": open("/proc/self/comm").read().strip(),
        "cmdline": open("/proc/self/cmdline", "rb").read().split(b"\\0")[0].decode(),
    }))
    sys.stdout.flush()
    os._exit(7)
"""

SHIM_LIKE = """
import _thread, json, os, sys
sys.path.insert(0, {fake!r})
from pyrunc_shim import inprocess, spawn
from pyrunc_shim.reaper import Reaper

reaper = Reaper(lambda pid, status: None)  # SIGCHLD handler and wake-up fd, as the serving shim has
held = _thread.allocate_lock()
r, w = os.pipe2(os.O_CLOEXEC)
stuck = _thread.allocate_lock()

def copy():  # a stdio copy thread, holding a lock and blocked in read() at the fork
    with held:
        stuck.release()
        os.read(r, 1)

stuck.acquire()
_thread.start_new_thread(copy, ())
stuck.acquire()
sys.stdout.write("the shim's unflushed output\\n")  # the child must not flush it into the runtime's stdout
res = spawn.run([{binary!r}, {mode!r}], input=b"in", capture=True, start=inprocess.fork_pyrunc)
os.write(w, b"x")
print(json.dumps({{"code": res.returncode, "out": res.stdout.decode(), "err": res.stderr.decode(),
                  "pid": os.getpid(), "imported": "pyrunc" in sys.modules}}))
"""


@pytest.fixture
def fake_pyrunc(tmp_path):
    (tmp_path / "fake" / "pyrunc").mkdir(parents=True)
    (tmp_path / "fake" / "pyrunc" / "__init__.py").write_text("")
    (tmp_path / "fake" / "pyrunc" / "cli.py").write_text(FAKE_CLI)
    return str(tmp_path / "fake")


def fork_run(tmp_path, fake, mode, binary="/nonexistent/pyrunc"):
    return report(tmp_path, SHIM_LIKE.format(fake=fake, binary=binary, mode=mode))


def test_the_child_looks_like_an_execd_runtime(tmp_path, fake_pyrunc):
    res = fork_run(tmp_path, fake_pyrunc, "report")
    assert (res["code"], res["err"], res["imported"]) == (7, "", False)
    child = json.loads(res["out"])
    assert child["argv"] == ["/nonexistent/pyrunc", "report"] and child["stdin"] == "in"
    assert child["ppid"] == res["pid"] and child["threads"] == 1
    assert child["fds"] == [0, 1, 2, 3]  # 3: listdir's own
    assert (child["comm"], child["cmdline"]) == ("pyrunc", "/nonexistent/pyrunc report")
    assert (child["sigchld"], child["wakeup"]) == (0, -1)  # SIG_DFL, no wake-up fd
    assert child["sigpipe"] == 1 and child["sigint"]  # SIG_IGN, KeyboardInterrupt: a fresh interpreter's


def test_the_childs_exceptions_end_it_as_the_interpreter_would(tmp_path, fake_pyrunc):
    res = fork_run(tmp_path, fake_pyrunc, "raise")
    assert res["code"] == 1 and "RuntimeError: boom" in res["err"] and res["out"] == ""
    res = fork_run(tmp_path, fake_pyrunc, "exit-text")
    assert (res["code"], res["err"], res["out"]) == (1, "bye\n", "")


def test_a_pyrunc_that_does_not_import_is_execd(tmp_path, fake_pyrunc, monkeypatch):
    script = tmp_path / "runtime.sh"
    script.write_text('#!/bin/sh\nread line\necho "exec: $* $line"; exit 5\n')
    script.chmod(0o755)
    monkeypatch.setenv("FAKE_IMPORT_FAILS", "1")
    res = fork_run(tmp_path, fake_pyrunc, "report", binary=str(script))
    assert (res["code"], res["out"]) == (5, "exec: report in\n")


PARITY = """
import json, os
from pyrunc_shim import runc
r = runc.Runc({pyrunc!r}, {root!r}, {log!r})
assert r.in_process
out = {{}}
for name, args, input in [("version", ["--version"], None), ("list", ["list"], None),
                          ("state", ["state", "nope"], None), ("start", ["start", "nope"], None),
                          ("update", ["update", "--resources", "-", "nope"], b"{{}}"),
                          ("kill", ["kill", "nope", "BOGUS"], None), ("usage", ["create"], None)]:
    for r.in_process in (True, False):
        open({log!r}, "w").close()
        try:
            res = [r._run(name, args, input=input).decode(), 0]
        except runc.RuncError as e:
            res = [str(e), e.exit_code]
        lines = [json.loads(line) for line in open({log!r})]
        out.setdefault(name, []).append([res, [(x["level"], x["msg"]) for x in lines]])
print(json.dumps(out))
"""


def test_pyrunc_in_process_answers_as_the_execd_one(tmp_path):
    out = report(tmp_path, PARITY.format(pyrunc=str(PYRUNC), root=str(tmp_path / "root"), log=str(tmp_path / "log.json")))
    for name, (in_process, execd) in out.items():
        assert in_process == execd, name
    assert out["version"][0][0][0].startswith("pyrunc version")
    assert out["state"][0][0] == ["OCI runtime state failed: container does not exist", 1]


@pytest.mark.skipif(not shutil.which("runc"), reason="runc is not installed")
def test_runc_is_execd(tmp_path):
    seen = report(tmp_path, """
import json
from pyrunc_shim import runc
r = runc.Runc("/usr/sbin/runc", "/run/nonexistent-root", "/dev/null")
print(json.dumps([r.in_process, r._run("version", ["--version"]).decode().splitlines()[0]]))
""")
    assert seen[0] is False and seen[1].startswith("runc version")



def test_pips_own_script_counts_under_a_shim_started_by_pips(tmp_path):
    """pip's plain scripts (no -IS, site sets sys.path, the script's directory first): a shim run that
    way takes pip's pyrunc script beside it, and not the -IS one, whose sys.path differs."""
    python = SHIM_SCRIPT.read_text().splitlines()[0][2:].split()[0]
    (tmp_path / "pyrunc").write_text(
        f"#!{python}\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom pyrunc.cli import run\n"
        "if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        "    sys.exit(run())\n")
    (tmp_path / "prog.py").write_text(
        "from pyrunc_shim import inprocess\n"
        f"print(inprocess.is_pyrunc({str(tmp_path / 'pyrunc')!r}), inprocess.is_pyrunc({str(PYRUNC)!r}))\n")
    r = subprocess.run([python, str(tmp_path / "prog.py")], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["True", "False"], r.stderr
