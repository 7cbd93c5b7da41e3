"""`pyctl exec -it` with a stdin that is not a terminal is refused as docker refuses it, before the daemon
is asked anything (the socket here does not exist: reaching it would be a different error)."""

import subprocess
import sys


def _exec(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pyctl.main", "-H", "unix:///nonexistent.sock", "exec", *flags,
                           "ctr", "true"], stdin=subprocess.DEVNULL, capture_output=True, text=True)


def test_exec_it_off_a_terminal_is_refused_before_anything_is_made():
    r = _exec("-it")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "the input device is not a TTY\n")
    r = _exec("-t", "-i")
    assert (r.returncode, r.stderr) == (1, "the input device is not a TTY\n")


def test_exec_with_t_or_i_alone_goes_on_to_the_daemon():
    for flag in ("-t", "-i"):
        r = _exec(flag)
        assert r.returncode != 0 and "not a TTY" not in r.stderr and "nonexistent.sock" in r.stderr
