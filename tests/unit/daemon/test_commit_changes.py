"""commit's and import's -c: Dockerfile instructions applied to an image config with docker's rules, and the
config's bytes (the same inputs give the same image id)."""

import json

import pytest
from pyruncd.committing import apply_changes, tags_of
from pyruncd.errors import InvalidArgument
from pyruncd.images.commit import Healthcheck, HistoryEntry, NewImage, RunConfig, image_config

BASE = RunConfig(env=["PATH=/bin", "A=0"], cmd=["sh"], entrypoint=None, labels={"old": "1"})


@pytest.mark.parametrize("changes, want", [
    (['CMD ["top", "-b"]'], {"cmd": ["top", "-b"]}),
    (["CMD top -b"], {"cmd": ["/bin/sh", "-c", "top -b"]}),
    (['ENTRYPOINT ["/init"]'], {"entrypoint": ["/init"], "cmd": None}),  # an ENTRYPOINT clears the Cmd...
    (['ENTRYPOINT ["/init"]', 'CMD ["x"]'], {"entrypoint": ["/init"], "cmd": ["x"]}),  # ...unless CMD is given
    (["ENV A=1 B=2"], {"env": ["PATH=/bin", "A=1", "B=2"]}),
    (["ENV C 3"], {"env": ["PATH=/bin", "A=0", "C=3"]}),
    (['ENV B="x y"', "ENV C=${B}-$A"], {"env": ["PATH=/bin", "A=0", "B=x y", "C=x y-0"]}),
    (["EXPOSE 80 53/udp 8000-8001"], {"exposed_ports": ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]}),
    (['LABEL new=2 "a b"=c'], {"labels": {"old": "1", "new": "2", "a b": "c"}}),
    (["ONBUILD RUN echo hi"], {"on_build": ["RUN echo hi"]}),
    (["USER 1000:1000"], {"user": "1000:1000"}),
    (['VOLUME ["/data", "/logs"]'], {"volumes": ["/data", "/logs"]}),
    (["WORKDIR /app", "WORKDIR sub"], {"working_dir": "/app/sub"}),
    (["STOPSIGNAL SIGQUIT"], {"stop_signal": "SIGQUIT"}),
    (["HEALTHCHECK --interval=5s --retries=2 CMD true"],
     {"healthcheck": Healthcheck(test=["CMD-SHELL", "true"], interval=5_000_000_000, retries=2)}),
    (["", "  "], {}),
])
def test_changes(changes, want):
    got = apply_changes(BASE, changes)
    for key, value in want.items():
        assert getattr(got, key) == value, key
    untouched = {k for k in vars(BASE) if k not in want}
    assert {k: getattr(got, k) for k in untouched} == {k: getattr(BASE, k) for k in untouched}


@pytest.mark.parametrize("change, message", [
    ("RUN echo hi", "run is not a valid change command"),
    ("COPY a b", "copy is not a valid change command"),
    ("EXPOSE http", "invalid containerPort: http"),
    ("EXPOSE 70000", "invalid containerPort: 70000"),
    ("NOSUCH x", "unknown instruction"),
])
def test_refused_changes(change, message):
    with pytest.raises(InvalidArgument, match=message):
        apply_changes(BASE, [change])


def test_tags_of():
    assert tags_of("") == []
    assert str(tags_of("me/x:1")[0]) == "docker.io/me/x:1"
    with pytest.raises(InvalidArgument, match="digest reference"):
        tags_of("x@sha256:" + "a" * 64)


def test_image_config_is_deterministic_and_docker_shaped():
    new = NewImage(parent=None, created="2026-01-01T00:00:00Z", author="me", comment="c",
                   config=RunConfig(cmd=["x"], labels={"b": "1", "a": "2"}, exposed_ports=["80/tcp"]),
                   history=[HistoryEntry(created="2026-01-01T00:00:00Z", created_by="CMD x", empty_layer=True)])
    raw = image_config(new, None)
    assert raw == image_config(new, None)
    doc = json.loads(raw)
    assert doc["config"] == {"ExposedPorts": {"80/tcp": {}}, "Cmd": ["x"], "Labels": {"a": "2", "b": "1"}}
    assert doc["rootfs"] == {"type": "layers", "diff_ids": []}
    assert doc["history"] == [{"created": "2026-01-01T00:00:00Z", "created_by": "CMD x", "empty_layer": True}]
    assert (doc["author"], doc["comment"], doc["created"]) == ("me", "c", "2026-01-01T00:00:00Z")
    assert RunConfig.from_json(doc["config"]) == new.config


def test_history_must_name_each_layer():
    with pytest.raises(InvalidArgument, match="1 new layers but 0 history entries"):
        image_config(NewImage(parent=None, created="t", layers=[object()], history=[]), None)  # type: ignore[list-item]
