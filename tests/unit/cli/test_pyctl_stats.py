"""pyctl stats/update/ps helpers: docker's sizes, CPU percentage, health suffix, --rm with --restart."""

import argparse
from types import SimpleNamespace

import pytest
from pyctl import output
from pyctl.commands import stats
from pyctl.errors import CLIError


def test_sizes_as_go_units():
    assert output.binary_size(0) == "0B"
    assert output.binary_size(116 * 1024) == "116KiB"
    assert output.binary_size(80 << 20) == "80MiB"
    assert output.binary_size(int(1.5 * (1 << 30))) == "1.5GiB"
    assert output.human_size(0, 3) == "0B" and output.human_size(1234, 3) == "1.23kB"


def test_cpu_percent_from_two_samples():
    prev = SimpleNamespace(cpu_total_ns=1_000, system_ns=10_000, online_cpus=2)
    cur = SimpleNamespace(cpu_total_ns=2_000, system_ns=20_000, online_cpus=2)
    assert stats.cpu_percent(prev, cur) == pytest.approx(20.0)
    assert stats.cpu_percent(None, cur) == 0.0
    assert stats.cpu_percent(cur, cur) == 0.0


def test_row_has_docker_columns():
    cur = SimpleNamespace(id="a" * 64, name="web", cpu_total_ns=0, system_ns=0, online_cpus=1, mem_usage=1 << 20,
                          mem_limit=4 << 20, net_rx=0, net_tx=1000, blk_read=0, blk_write=0, pids=3)
    r = stats.row(None, cur)
    assert [r[k] for k in stats.KEYS] == ["a" * 12, "web", "0.00%", "1MiB / 4MiB", "25.00%", "0B / 1kB",
                                          "0B / 0B", "3"]


def test_health_suffix_in_ps():
    assert stats.status_suffix({"State": {"Health": {"Status": "starting"}}}) == " (health: starting)"
    assert stats.status_suffix({"State": {"Health": {"Status": "unhealthy"}}}) == " (unhealthy)"
    assert stats.status_suffix({"State": {}}) == ""


def test_rm_with_restart_is_refused_before_the_daemon_is_asked():
    with pytest.raises(CLIError, match="Conflicting options: --restart and --rm"):
        stats.check_run(argparse.Namespace(rm=True, restart="always"))
    stats.check_run(argparse.Namespace(rm=True, restart="no"))
    stats.check_run(argparse.Namespace(restart="always"))  # create has no --rm


def test_seccomp_profile_path_is_sent_as_its_json(tmp_path):
    p = tmp_path / "p.json"
    p.write_text('{"defaultAction": "SCMP_ACT_ALLOW"}')
    assert stats._security_opts([f"seccomp={p}", "no-new-privileges", "seccomp=unconfined"]) == [
        'seccomp={"defaultAction": "SCMP_ACT_ALLOW"}', "no-new-privileges", "seccomp=unconfined"]
    with pytest.raises(CLIError, match="opening seccomp profile"):
        stats._security_opts(["seccomp=/no/such"])
