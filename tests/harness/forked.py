"""Run a body of code in a forked child after a setup that changes the process for good
(capabilities, seccomp filters): the test process itself stays untouched."""

import json
import os


def in_child(setup, body):
    """Fork; the child runs setup() then body(). Returns (outcome, wait status), where outcome is
    {"ok": what body returned} or {"errno": n} if body raised OSError, {"exception": repr} if
    anything else failed, or None if the child died before reporting (e.g. killed by seccomp)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            setup()
            try:
                out = {"ok": body()}
            except OSError as e:
                out = {"errno": e.errno}
            os.write(w, json.dumps(out).encode())
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            os.write(w, json.dumps({"exception": repr(e)}).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    return (json.loads(data) if data else None), status
