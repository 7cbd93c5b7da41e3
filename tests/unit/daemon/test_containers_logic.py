"""Pure logic of pyruncd's containers: process resolution, env merging, signals, users, states,
log lines and pyctl's detach-key filter."""

import datetime
import json

import pytest
from pyctl.commands.terminal import _filter_detach
from pyruncd.containers import logs, spec
from pyruncd.containers.types import TRANSITIONS, Config, Record, Status
from pyruncd.errors import Conflict, InvalidArgument

IMAGE = {"config": {"Entrypoint": ["/entry"], "Cmd": ["default"], "Env": ["PATH=/bin", "A=image"],
                    "WorkingDir": "/app", "User": "daemon", "StopSignal": "SIGQUIT"}}


def resolve(**kw):
    args = dict(cmd=[], entrypoint=[], entrypoint_set=False, env=[], workdir="", user="", tty=False, hostname="h")
    args.update(kw)
    return spec.resolve_process(IMAGE, **args)


def test_image_config_fills_what_the_cli_leaves_empty():
    p = resolve()
    assert p.args == ["/entry", "default"] and p.cwd == "/app" and p.user == "daemon" and p.stop_signal == "SIGQUIT"
    assert p.env == ["PATH=/bin", "A=image", "HOSTNAME=h"]


def test_cli_overrides_as_docker_merges_them():
    assert resolve(cmd=["x"]).args == ["/entry", "x"]
    assert resolve(entrypoint=["sh"], entrypoint_set=True).args == ["sh"]  # --entrypoint drops the image's Cmd
    assert resolve(entrypoint=[""], entrypoint_set=True, cmd=["ls"]).args == ["ls"]
    p = resolve(env=["A=cli", "B=2"], tty=True, workdir="/w", user="0:0")
    assert p.env == ["PATH=/bin", "A=cli", "HOSTNAME=h", "TERM=xterm", "B=2"] and p.cwd == "/w" and p.user == "0:0"
    with pytest.raises(InvalidArgument, match="absolute"):
        resolve(workdir="rel")
    with pytest.raises(InvalidArgument, match="no command"):
        spec.resolve_process({}, cmd=[], entrypoint=[], entrypoint_set=False, env=[], workdir="", user="",
                             tty=False, hostname="h")


def test_signals_by_name_or_number():
    assert spec.parse_signal("KILL") == spec.parse_signal("SIGKILL") == spec.parse_signal("9") == 9
    assert spec.parse_signal("sigterm") == 15
    for bad in ("NOPE", "0", "99", ""):
        with pytest.raises(InvalidArgument):
            spec.parse_signal(bad)


def test_users_resolve_against_the_layers_top_first(tmp_path):
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:33::/:/bin/sh\n")
    (lower / "etc" / "group").write_text("root:x:0:\nweb:x:33:\nextra:x:50:web,other\n")
    upper.mkdir()
    assert spec.resolve_user("web", [lower], upper) == {"uid": 33, "gid": 33, "additionalGids": [33, 50]}
    assert spec.resolve_user("1000:extra", [lower], upper) == {"uid": 1000, "gid": 50, "additionalGids": [50]}
    assert spec.resolve_user("", [lower], upper) == {"uid": 0, "gid": 0, "additionalGids": [0]}
    (upper / "etc").mkdir()
    (upper / "etc" / "passwd").write_text("web:x:77:77::/:/bin/sh\n")  # the container's change wins
    assert spec.resolve_user("web", [lower], upper)["uid"] == 77
    with pytest.raises(InvalidArgument, match="unable to find user nobody"):
        spec.resolve_user("nobody", [lower], upper)


def test_state_machine_refuses_what_docker_would():
    cfg = Config(process=resolve(), settings=spec.Settings("h"), chain_ids=[])
    rec = Record(id="id", name="n", image="img", image_id="sha256:x", created="", config=cfg)
    rec.move(Status.RUNNING)
    rec.move(Status.PAUSED)
    with pytest.raises(Conflict):
        rec.move(Status.REMOVING)  # a paused container is killed first, never removed as is
    rec.move(Status.EXITED)
    rec.move(Status.REMOVING)
    assert TRANSITIONS[Status.REMOVING] == set()
    assert Config.loads(cfg.dumps()) == cfg


def test_log_lines_keep_partial_lines_and_bytes(tmp_path):
    f = logs.LogFile(tmp_path / "c-json.log", logs.LogConfig())
    f.write("stdout", b"one\ntw")
    f.write("stderr", b"\xff err\n")
    f.write("stdout", b"o\nthree")
    f.close()
    lines = (tmp_path / "c-json.log").read_text().splitlines()
    assert [(e.stream, e.data) for e in map(logs.Entry.parse, lines)] == [
        ("stdout", b"one\n"), ("stderr", b"\xff err\n"), ("stdout", b"two\n"), ("stdout", b"three")]
    first = json.loads(lines[0])
    assert set(first) == {"log", "stream", "time"} and logs.parse_time(first["time"]) is not None


def test_a_log_file_rotates_at_max_size_and_keeps_max_file(tmp_path):
    f = logs.LogFile(tmp_path / "c-json.log", logs.parse_log_opts({"max-size": "1k", "max-file": "3"}))
    for i in range(200):
        f.write("stdout", f"line {i}\n".encode())
    f.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["c-json.log", "c-json.log.1", "c-json.log.2"]
    sizes = [(tmp_path / n).stat().st_size for n in files]
    assert all(s < 1000 + 100 for s in sizes), sizes  # over max-size by one entry at most
    last = logs.Entry.parse((tmp_path / "c-json.log").read_text().splitlines()[-1])
    assert last.data == b"line 199\n"


def test_since_takes_durations_unix_times_and_rfc3339():
    now = datetime.datetime.now(datetime.UTC)
    assert abs((now - logs.parse_since("10m")).total_seconds() - 600) < 5
    assert logs.parse_since("0").timestamp() == 0
    assert logs.parse_since("2024-01-02T03:04:05.123456789Z").microsecond == 123456
    with pytest.raises(InvalidArgument):
        logs.parse_since("yesterday")


def test_detach_keys_hold_ctrl_p_until_the_next_key():
    held = [False]
    assert _filter_detach(b"ab\x10", held) == (b"ab", False) and held == [True]
    assert _filter_detach(b"x", held) == (b"\x10x", False)
    assert _filter_detach(b"\x10\x11rest", [False]) == (b"", True)
