"""What pyctl's argv handling adds to argparse to read as the docker CLI does: boolean flags given a
value, the overview without a command, -it refused off a terminal; and version's client platform."""

import io
import subprocess
import sys

import pytest
from pyctl import main as pyctl_main
from pyctl.argv import bool_values
from pyctl.commands.system import GOARCH
from pyctl.errors import CLIError


def _args(argv):
    parser = pyctl_main.build_parser(pyctl_main._command(argv))
    return parser.parse_args(bool_values(parser, argv))


@pytest.mark.parametrize(("argv", "detach", "rm", "cmd"), [
    (["run", "--detach=true", "busybox"], True, False, []),
    (["run", "-d=true", "--rm=false", "busybox"], True, False, []),
    (["run", "-d=1", "--rm=T", "busybox"], True, True, []),
    (["run", "--detach=false", "--rm", "busybox"], False, True, []),
    (["container", "run", "-d=True", "busybox", "sh", "-c", "x"], True, False, ["sh", "-c", "x"]),
    # a value-taking flag's value and the container's own arguments are left as they are
    (["run", "--name", "x", "--rm=true", "busybox"], False, True, []),
    (["run", "busybox", "echo", "--rm=false"], False, False, ["echo", "--rm=false"]),
    (["-H", "unix:///x", "run", "--rm=true", "busybox"], False, True, []),
])
def test_boolean_flags_take_values_as_pflag_reads_them(argv, detach, rm, cmd):
    a = _args(argv)
    assert (a.detach, a.rm, a.cmd) == (detach, rm, cmd)


def test_a_boolean_flags_bad_value_in_pflags_words():
    with pytest.raises(CLIError) as e:
        _args(["run", "--rm=maybe", "busybox"])
    assert str(e.value) == 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax'
    assert e.value.status == 125
    with pytest.raises(CLIError, match='for "-d, --detach" flag'):
        _args(["run", "-d=yes", "busybox"])


def test_other_commands_boolean_flags_too():
    assert _args(["ps", "--all=true", "-q=false"]).all is True
    assert _args(["network", "create", "--internal=true", "n"]).internal is True
    assert _args(["volume", "ls", "--quiet=false"]).quiet is False


def test_no_command_prints_the_overview_on_stderr_and_succeeds(monkeypatch):
    err, out = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    assert pyctl_main.main([]) == 0
    text = err.getvalue()
    assert text.startswith("Usage:  pyctl [OPTIONS] COMMAND\n") and out.getvalue() == ""
    management = text.split("Management Commands:\n")[1].split("\n\n")[0].split()
    assert management[::2] == ["builder", "container", "image", "network", "volume"] or \
        {"container", "image", "network", "volume"} <= set(management)
    commands = [line.split()[0] for line in text.split("\nCommands:\n")[1].split("\n\n")[0].splitlines()]
    assert commands == sorted(commands) and {"run", "ps", "events", "version"} <= set(commands)
    assert "container" not in commands
    assert text.rstrip().endswith("Run 'pyctl COMMAND --help' for more information on a command.")
    assert pyctl_main.main(["--help"]) == 0 and out.getvalue() == text


def test_run_it_off_a_terminal_is_refused_before_anything_is_made():
    r = subprocess.run([sys.executable, "-m", "pyctl.main", "-H", "unix:///nonexistent.sock", "run", "-it",
                        "busybox", "true"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (1, "the input device is not a TTY\n")
    r = subprocess.run([sys.executable, "-m", "pyctl.main", "-H", "unix:///nonexistent.sock", "run", "-t",
                        "busybox", "true"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert r.returncode != 0 and "not a TTY" not in r.stderr  # -t alone is fine, as docker's: on to the daemon


def test_version_names_the_architecture_as_go_does():
    assert GOARCH["x86_64"] == "amd64" and GOARCH["aarch64"] == "arm64"
