"""hooks.run: stdin, argv, env, timeout and runc's error words, with real hook processes."""

import json
import os
import time

import pytest
from pyrunc import hooks, spec
from pyrunc.errors import PyruncError

STATE = {"ociVersion": "1.0.2", "id": "c1", "status": "creating", "pid": 42, "bundle": "/b"}


def hook(**kw):
    return spec.from_dict(spec.Hook, kw, "hooks.prestart[0]")


def test_state_on_stdin_args_and_env(tmp_path):
    out = tmp_path / "out"
    script = f'tr "\\0" " " < /proc/$$/cmdline > {out}; echo >> {out}; echo "$0 $1 $FOO" >> {out}; cat >> {out}'
    hooks.run([hook(path="/bin/sh", args=["my-hook", "-c", script, "zero", "one"], env=["FOO=bar"])],
              STATE, "prestart")
    cmdline, first, rest = out.read_text().split("\n", 2)
    assert cmdline.startswith("my-hook -c ")  # args[0] is argv[0], path is what runs
    assert first == "zero one bar"
    assert json.loads(rest) == STATE


def test_no_args_means_argv0_is_path_and_no_env_inherits(tmp_path, monkeypatch):
    script = tmp_path / "hook.sh"
    out = tmp_path / "out"
    script.write_text(f'#!/bin/sh\necho "$0 $PYRUNC_HOOK_TEST" > {out}\n')
    script.chmod(0o755)
    monkeypatch.setenv("PYRUNC_HOOK_TEST", "inherited")
    hooks.run([hook(path=str(script))], STATE, "poststop")
    assert out.read_text() == f"{script} inherited\n"


def test_empty_env_list_is_empty(tmp_path):
    out = tmp_path / "out"
    hooks.run([hook(path="/bin/sh", args=["sh", "-c", f"env > {out}"], env=[])], STATE, "poststart")
    assert "HOME=" not in out.read_text() and "PATH=/usr" not in out.read_text()


def test_runs_in_order_and_stops_at_the_first_failure(tmp_path):
    log = tmp_path / "log"
    hs = [hook(path="/bin/sh", args=["sh", "-c", f"echo {i} >> {log}; exit {1 if i == 1 else 0}"]) for i in range(3)]
    with pytest.raises(PyruncError) as e:
        hooks.run(hs, STATE, "createRuntime")
    assert log.read_text() == "0\n1\n"
    assert str(e.value) == "error running createRuntime hook #1: error running hook: exit status 1, stdout: , stderr: "


def test_failure_quotes_output():
    h = hook(path="/bin/sh", args=["sh", "-c", "echo out; echo err >&2; exit 3"])
    with pytest.raises(PyruncError) as e:
        hooks.run([h], STATE, "createContainer")
    assert str(e.value) == ("error running createContainer hook #0: error running hook: exit status 3, "
                            "stdout: out\n, stderr: err\n")


def test_missing_executable():
    with pytest.raises(PyruncError) as e:
        hooks.run([hook(path="/no/such/hook")], STATE, "startContainer")
    assert str(e.value) == "error running startContainer hook #0: fork/exec /no/such/hook: no such file or directory"


def test_killed_by_signal():
    with pytest.raises(PyruncError, match=r"hook #0: error running hook: signal: killed"):
        hooks.run([hook(path="/bin/sh", args=["sh", "-c", "kill -9 $$"])], STATE, "prestart")


def test_timeout_kills_the_hook(tmp_path):
    pidfile = tmp_path / "pid"
    h = hook(path="/bin/sh", args=["sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"], timeout=1)
    t0 = time.monotonic()
    with pytest.raises(PyruncError) as e:
        hooks.run([h], STATE, "prestart")
    assert time.monotonic() - t0 < 5
    assert str(e.value) == "error running prestart hook #0: hook ran past specified timeout of 1.0s"
    pid = int(pidfile.read_text())
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_hook_that_ignores_stdin_is_fine():
    hooks.run([hook(path="/bin/true")], STATE | {"annotations": {"x": "y" * 200000}}, "poststart")


def test_nothing_to_run():
    hooks.run([], STATE, "prestart")


@pytest.mark.parametrize("kind", ["poststart", "poststop"])
def test_warn_only_kinds_run_every_hook(tmp_path, kind):
    log = tmp_path / "log"
    hs = [hook(path="/bin/sh", args=["sh", "-c", f"echo {i} >> {log}; exit {i}"]) for i in range(3)]
    with pytest.raises(PyruncError) as e:
        hooks.run(hs, STATE, kind)
    assert log.read_text() == "0\n1\n2\n"
    assert str(e.value) == (f"error running {kind} hook #1: error running hook: exit status 1, stdout: , stderr: ; "
                            f"error running {kind} hook #2: error running hook: exit status 2, stdout: , stderr: ")


def test_timeout_kills_what_the_hook_started(tmp_path):
    pidfile = tmp_path / "pid"
    # sh forks sleep, which holds the output pipes: it must die with the hook
    h = hook(path="/bin/sh", args=["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"], timeout=1)
    t0 = time.monotonic()
    with pytest.raises(PyruncError, match="hook ran past specified timeout of 1.0s"):
        hooks.run([h], STATE, "prestart")
    assert time.monotonic() - t0 < 5
    pid = int(pidfile.read_text())
    time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
