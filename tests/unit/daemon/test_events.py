"""The daemon's event stream (pyruncd.events): dockerd's filter rules, --since from the kept events,
--until ending the stream; and the CLI's reading of --since/--until values."""

import asyncio
import time

import pytest
from pyctl.commands.eventtime import duration, timestamp
from pyctl.errors import CLIError
from pyruncd.errors import InvalidArgument
from pyruncd.events import Event, EventBus, matches, parse_filters

CID = "c0ffee" + "0" * 58
NET = "beef" + "1" * 60
EVENTS = {
    "start": Event(type="container", action="start", id=CID, attributes={"name": "web", "image": "busybox:latest",
                                                                        "com.example.tier": "front"}),
    "health": Event(type="container", action="health_status: healthy", id=CID, attributes={"name": "web",
                                                                                            "image": "busybox"}),
    "connect": Event(type="network", action="connect", id=NET, attributes={"name": "appnet", "type": "bridge",
                                                                          "container": CID}),
    "mount": Event(type="volume", action="mount", id="data", attributes={"container": CID, "driver": "local"}),
    "pull": Event(type="image", action="pull", id="busybox:latest", attributes={"name": "busybox:latest"}),
}


@pytest.mark.parametrize(("filters", "want"), [
    ([], {"start", "health", "connect", "mount", "pull"}),
    (["type=network"], {"connect"}),
    (["type=network", "type=volume"], {"connect", "mount"}),          # one key: OR
    (["type=container", "event=start"], {"start"}),                   # two keys: AND
    (["event=health_status"], {"health"}),                            # fuzzy for health_status, as dockerd
    (["event=connect", "event=mount"], {"connect", "mount"}),
    (["container=web"], {"start", "health"}),                         # name or id prefix, container events only
    (["container=c0ffee"], {"start", "health"}),
    (["network=appnet"], {"connect"}),
    (["network=beef"], {"connect"}),
    (["volume=data"], {"mount"}),
    (["image=busybox"], {"start", "health", "pull"}),                 # name with or without its tag
    (["image=busybox:latest"], {"start", "pull"}),
    (["label=com.example.tier"], {"start"}),
    (["label=com.example.tier=back"], set()),
    (["label=com.example.tier=front", "type=container"], {"start"}),
])
def test_filters_as_dockerd(filters, want):
    f = parse_filters(filters)
    assert {k for k, e in EVENTS.items() if matches(e, f)} == want


def test_unknown_filter_refused_in_dockerds_words():
    with pytest.raises(InvalidArgument, match="invalid filter 'nope'"):
        parse_filters(["nope=1"])
    with pytest.raises(InvalidArgument, match="bad format of filter"):
        parse_filters(["type"])


def test_since_replays_kept_events_and_until_ends_the_stream():
    async def main():
        bus = EventBus()
        bus.emit("network", "create", NET, name="old", type="bridge")
        t0 = time.time()
        await asyncio.sleep(0.01)
        bus.emit("volume", "create", "v1", driver="local")
        bus.emit("network", "destroy", NET, name="old", type="bridge")
        # --since: only what happened from then on, through the filters; --until in the past: then the end
        got = [e async for e in bus.stream(since=t0, until=time.time(), filters=["type=volume"])]
        assert [(e.type, e.action, e.id) for e in got] == [("volume", "create", "v1")]
        # live events until --until
        until = time.time() + 0.3
        seen: list[str] = []

        async def reader():
            async for e in bus.stream(until=until):
                seen.append(e.action)

        task = asyncio.ensure_future(reader())
        await asyncio.sleep(0.05)
        bus.emit("volume", "mount", "v1", container=CID, driver="local")
        await asyncio.wait_for(task, 2)
        assert seen == ["create", "create", "destroy", "mount"]  # until alone replays the kept ones too
        assert EVENTS["start"].time.endswith("Z") and len(bus._kept) == 4

    asyncio.run(main())


def test_event_time_is_rfc3339_with_nanoseconds():
    e = Event(type="network", action="create", id=NET, time_nano=1_765_051_262_123_456_789)
    assert e.time == "2025-12-06T20:01:02.123456789Z"


@pytest.mark.parametrize(("text", "want"), [("10m", 600.0), ("1h30m", 5400.0), ("1.5s", 1.5), ("500ms", 0.5),
                                            ("10", None), ("abc", None), ("", None)])
def test_durations_as_go_parses_them(text, want):
    assert duration(text) == want


def test_since_until_values_as_the_docker_cli_reads_them():
    now = 1_800_000_000.0
    assert timestamp("", now) == ""
    assert float(timestamp("10m", now)) == now - 600
    assert timestamp("1700000000", now) == "1700000000"
    assert timestamp("1700000000.5", now) == "1700000000.5"
    assert float(timestamp("2023-11-14T22:13:20Z", now)) == 1_700_000_000
    assert float(timestamp("2023-11-14T23:13:20+01:00", now)) == 1_700_000_000
    with pytest.raises(CLIError, match='failed to parse value as time or duration: "yesterday"'):
        timestamp("yesterday", now)
