"""OCI hooks: run each with the container state on stdin, in order, as runc does.

A hook is path + args (args[0] is argv[0]; no args means argv[0] = path) +
env (none given means the runtime's own environment, as Go's exec does for
runc) + timeout in seconds (the hook is killed when it runs past it). Output
is captured and quoted in the error. Whether a failure fails the operation is
the caller's decision (the spec: prestart, createRuntime, createContainer and
startContainer fail it; poststart and poststop only warn).

Imported before fork: startContainer hooks run in the container's init after
pivot_root, where nothing can be imported.
"""

import os
import signal
import subprocess

from . import jsonio
from .errors import PyruncError, reason

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
# the spec has the remaining hooks run after one of these fails (the failure is only a warning)
_GO_ON = ("poststart", "poststop")


def run(hooks, state, kind):
    """Run `hooks` (spec.Hook list) in order; PyruncError if any fails.

    For prestart ... startContainer the first failure stops the list; for
    poststart and poststop every hook runs and the error names each failure.
    """
    if not hooks:
        return
    data = jsonio.dumps(state).encode()
    failures = []
    for i, hook in enumerate(hooks):
        err = run_one(hook, data)
        if err:
            failures.append(f"error running {kind} hook #{i}: {err}")
            if kind not in _GO_ON:
                break
    if failures:
        raise PyruncError("; ".join(failures))


def run_one(hook, data):
    """Run one hook with `data` on its stdin; None on success, else what went wrong."""
    argv = list(hook.args) if hook.args else [hook.path]
    env = None
    if hook.env is not None:
        env = dict(e.partition("=")[::2] for e in hook.env)
    try:
        # its own process group, so a timeout kills whatever the hook started too
        p = subprocess.Popen(argv, executable=hook.path, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, close_fds=True,
                             process_group=0)
    except OSError as e:
        return f"fork/exec {hook.path}: {os.strerror(e.errno).lower() if e.errno else reason(e)}"
    try:
        out, errout = p.communicate(data, timeout=hook.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        try:
            p.communicate(timeout=1)
        except subprocess.TimeoutExpired:  # something left the group and holds the pipes
            p.wait()
        return f"hook ran past specified timeout of {float(hook.timeout):.1f}s"
    if p.returncode == 0:
        return None
    if p.returncode > 0:
        status = f"exit status {p.returncode}"
    else:  # worded as Go's os/exec words it
        status = f"signal: {(signal.strsignal(-p.returncode) or str(-p.returncode)).lower()}"
    return (f"error running hook: {status}, stdout: {out.decode(errors='replace')}, "
            f"stderr: {errout.decode(errors='replace')}")

