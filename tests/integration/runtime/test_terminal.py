"""process.terminal: the pty master handed over --console-socket, and foreground run -t."""

import os
import pty
import subprocess
import time

import pytest

from tests.harness.console import ConsoleSocket


def tty_bundle(bundle, script):
    return bundle(["sh", "-c", script], edit=lambda c: c["process"].__setitem__("terminal", True))


@pytest.fixture
def console(tmp_path):
    cs = ConsoleSocket(tmp_path / "console.sock")
    yield cs
    cs.close()


def test_create_sends_pty_master(rt, bundle, console):
    cid = rt.new_id()
    rt("create", "--console-socket", console.path, "--bundle",
       tty_bundle(bundle, "tty; test -c /dev/console && echo has-console; stty size; echo done"), cid)
    console.wait_master()
    rt("start", cid)
    out = console.read_until("done")
    assert "/dev/pts/0" in out and "has-console" in out and "done" in out
    rt.wait_status(cid, "stopped")
    rt("delete", cid)


def test_console_size(rt, bundle, console):
    def edit(c):
        c["process"]["terminal"] = True
        c["process"]["consoleSize"] = {"height": 40, "width": 100}
    cid = rt.new_id()
    rt("run", "-d", "--console-socket", console.path, "--bundle", bundle(["sh", "-c", "stty size; echo end"],
                                                                          edit=edit), cid)
    assert "40 100" in console.read_until("end")
    rt.wait_status(cid, "stopped")
    rt("delete", cid)


def test_terminal_without_console_socket_when_detaching(rt, bundle):
    p = rt("create", "--bundle", tty_bundle(bundle, "true"), rt.new_id(), check=False)
    assert p.returncode != 0 and "console socket" in p.stderr
    assert rt.ids() == []


def test_exec_tty_with_console_socket(rt, bundle, console):
    cid = rt.new_id()
    rt("run", "-d", "--bundle", bundle(["sleep", "1000"]), cid)
    rt("exec", "-t", "-d", "--console-socket", console.path, cid, "sh", "-c", "tty; echo fin")
    assert "/dev/pts/" in console.read_until("fin")
    rt("delete", "-f", cid)


def test_foreground_run_with_a_terminal(rt, bundle):
    master, slave = pty.openpty()
    cid = rt.new_id()
    proc = subprocess.Popen(rt.cmd("run", "--bundle", tty_bundle(bundle, "read line; echo got:$line; tty"), cid),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        time.sleep(0.5)
        os.write(master, b"hello\n")
        out = b""
        deadline = time.monotonic() + 10
        while b"/dev/pts/" not in out and time.monotonic() < deadline:
            try:
                out += os.read(master, 4096)
            except OSError:
                break
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    assert b"got:hello" in out and b"/dev/pts/0" in out
