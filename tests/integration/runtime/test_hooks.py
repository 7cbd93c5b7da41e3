"""Hooks through the runtime's command line: each kind at its point in the lifecycle, with the
state on stdin, in the right namespace; failures fail what the spec says and leave nothing behind."""

import json
import os

import pytest

from tests.harness.runtime import IS_RUNC

HOST_KINDS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def recorder(out_dir, kind):
    """A hook that stores its stdin and the mount namespace it ran in."""
    target = os.path.join(out_dir, kind)
    return {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {target}.json; readlink /proc/self/ns/mnt > {target}.ns"]}


def read(out_dir, kind):
    with open(os.path.join(out_dir, f"{kind}.json")) as f:
        state = json.load(f)
    with open(os.path.join(out_dir, f"{kind}.ns")) as f:
        return state, f.read().strip()


def failing(code=3):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"echo OUT; echo ERR >&2; exit {code}"]}


def with_hooks(**hooks):
    def edit(cfg):
        cfg["hooks"] = hooks
    return edit


def test_every_hook_at_its_point_with_the_state(rt, bundle, tmp_path):
    out = str(tmp_path)
    hooks = {k: [recorder(out, k)] for k in HOST_KINDS}
    # startContainer runs in the container after pivot_root: its path is the container's /bin/sh,
    # and it leaves its stdin where the container's process can print it
    hooks["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/shm/start.json"]}]
    b = bundle(["sh", "-c", "cat /dev/shm/start.json"], edit=with_hooks(**hooks))
    cid = rt.new_id()
    host_mnt = os.readlink("/proc/self/ns/mnt")

    rt("create", "--bundle", b, cid)
    pid = rt.state(cid)["pid"]
    container_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    for kind in ("prestart", "createRuntime", "createContainer"):
        state, ns = read(out, kind)
        assert (state["id"], state["bundle"], state["status"]) == (cid, str(b), "creating"), kind
        assert state["ociVersion"]
        assert ns == (container_mnt if kind == "createContainer" else host_mnt), kind
    for kind in ("prestart", "createRuntime"):
        assert read(out, kind)[0]["pid"] == pid  # the host's pid of the container's init
    # runc 1.1 runs poststart hooks at create (fixed in runc 1.2); the spec runs them after start
    assert os.path.exists(os.path.join(out, "poststart.json")) == IS_RUNC

    start = rt("start", cid)
    assert start.returncode == 0
    state, ns = read(out, "poststart")
    # runc 1.1 reports "created" here; the spec's lifecycle has the user's process started
    assert (state["id"], state["pid"], ns) == (cid, pid, host_mnt) and state["status"] in ("created", "running")
    assert rt.wait_status(cid, "stopped") == "stopped"
    assert not os.path.exists(os.path.join(out, "poststop.json"))

    rt("delete", cid)
    state, ns = read(out, "poststop")
    assert (state["id"], state["status"], ns) == (cid, "stopped", host_mnt)


def test_start_container_hook_sees_the_created_container(rt, bundle, tmp_path):
    hooks = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > /dev/shm/start.json"]}]}
    b = bundle(["sh", "-c", "cat /dev/shm/start.json; echo; readlink /proc/self/ns/mnt"], edit=with_hooks(**hooks))
    p = rt("run", "--bundle", b, rt.new_id())
    line, ns = p.stdout.strip().split("\n")
    state = json.loads(line)
    assert state["status"] == "created"  # the user's program has not run yet
    assert state["bundle"] == str(b)
    assert ns.startswith("mnt:")


def test_args_env_and_timeout_reach_the_hook(rt, bundle, tmp_path):
    out = tmp_path / "env"
    hook = {"path": "/bin/sh", "args": ["sh", "-c", f'echo "$0 $1 $HOOK_VAR" > {out}', "zero", "one"],
            "env": ["HOOK_VAR=value"], "timeout": 5}
    rt("run", "--bundle", bundle(["true"], edit=with_hooks(createRuntime=[hook])), rt.new_id())
    assert out.read_text() == "zero one value\n"


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create_and_leaves_nothing(rt, bundle, tmp_path, kind):
    ran, stopped = tmp_path / "ran", tmp_path / "poststop"
    hooks = {kind: [{"path": "/bin/true"}, failing()],
             "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", f"touch {ran}"]}],
             "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", f"touch {stopped}"]}]}
    cid = rt.new_id()
    p = rt("create", "--bundle", bundle(["true"], edit=with_hooks(**hooks)), cid, check=False)
    assert p.returncode != 0
    assert "error running" in p.stderr and "hook #1" in p.stderr
    assert "exit status 3" in p.stderr and "OUT" in p.stderr and "ERR" in p.stderr
    assert rt("state", cid, check=False).returncode != 0
    assert not ran.exists()
    assert stopped.exists()  # the lifecycle goes on to destroy and poststop
    # the rt fixture checks that no process, mount, cgroup or state dir is left


def test_hook_timeout_fails_create(rt, bundle):
    hook = {"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 30"], "timeout": 1}
    cid = rt.new_id()
    p = rt("create", "--bundle", bundle(["true"], edit=with_hooks(createRuntime=[hook])), cid,
           check=False, timeout=15)
    assert p.returncode != 0
    assert "hook ran past specified timeout of 1.0s" in p.stderr
    assert rt("state", cid, check=False).returncode != 0


def test_failing_start_container_hook_fails_start(rt, bundle, tmp_path):
    ran = tmp_path / "ran"
    b = bundle(["sh", "-c", f"touch {ran}"], edit=with_hooks(startContainer=[failing()]))
    cid = rt.new_id()
    rt("create", "--bundle", b, cid)
    p = rt("start", cid, check=False)
    if IS_RUNC:
        # runc 1.1 runs startContainer hooks after `start` has returned: only init's stderr hears of it
        assert p.returncode == 0
    else:
        assert p.returncode != 0
        assert "error running" in p.stderr and "hook #0" in p.stderr and "exit status 3" in p.stderr
    assert rt.wait_status(cid, "stopped") == "stopped"
    assert not ran.exists()  # the user's program never ran
    rt("delete", "--force", cid)


def test_failing_poststart_hook_only_warns(rt, bundle, tmp_path):
    after = tmp_path / "after"
    hooks = {"poststart": [failing(), {"path": "/bin/sh", "args": ["sh", "-c", f"touch {after}"]}]}
    cid = rt.new_id()
    p = rt("run", "--bundle", bundle(["echo", "hello"], edit=with_hooks(**hooks)), cid, check=False)
    assert "error running" in p.stderr and "hook #0" in p.stderr
    if IS_RUNC:
        # runc 1.1 fails the start on a poststart failure (runtime-spec 1.3's rule, not 1.0's)
        assert p.returncode != 0
        return
    assert p.returncode == 0 and p.stdout == "hello\n"
    assert after.exists()  # the remaining hooks still ran


def test_failing_poststop_hook_only_warns(rt, bundle, tmp_path):
    after = tmp_path / "after"
    hooks = {"poststop": [failing(), {"path": "/bin/sh", "args": ["sh", "-c", f"touch {after}"]}]}
    cid = rt.new_id()
    b = bundle(["true"], edit=with_hooks(**hooks))
    rt("create", "--bundle", b, cid)
    rt("start", cid)
    assert rt.wait_status(cid, "stopped") == "stopped"
    p = rt("delete", cid, check=False)
    assert p.returncode == 0
    assert "error running" in p.stderr and "hook #0" in p.stderr
    assert rt("state", cid, check=False).returncode != 0
    if not IS_RUNC:  # runc 1.1 stops at the first failing poststop hook
        assert after.exists()


def test_poststop_runs_on_delete_force_of_a_running_container(rt, bundle, tmp_path):
    out = str(tmp_path)
    cid = rt.new_id()
    rt("create", "--bundle", bundle(["sleep", "30"], edit=with_hooks(poststop=[recorder(out, "poststop")])), cid)
    rt("start", cid)
    rt("delete", "--force", cid)
    state, _ = read(out, "poststop")
    assert (state["id"], state["status"]) == (cid, "stopped")
