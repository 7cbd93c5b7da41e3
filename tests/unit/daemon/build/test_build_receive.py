"""The build's way in: the context tar bounded as it arrives, .dockerignore applied, the Dockerfile found;
and the service's mapping of options and progress to and from pyrunc.build.v1."""

import asyncio
import io
import tarfile

import pytest
from pyrunc_proto.pyrunc.build.v1 import build_pb2 as pb
from pyruncd.build import progress
from pyruncd.build.context import ContextLimits
from pyruncd.build.errors import ContextError
from pyruncd.build.receive import dockerfile_text, receive_context, without_ignored
from pyruncd.services.build import options_of, progress_of


def tar_of(files: dict[str, bytes]) -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    return data.getvalue()


async def chunks_of(data: bytes, size: int = 100):
    for start in range(0, len(data), size):
        yield data[start:start + size]


def receive(tmp_path, data: bytes, limits: ContextLimits | None = None):
    return asyncio.run(receive_context(chunks_of(data), tmp_path, limits or ContextLimits()))


def test_the_context_arrives_in_chunks_and_dockerignore_applies(tmp_path):
    data = tar_of({"Dockerfile": b"FROM busybox\n", ".dockerignore": b"*.log\nDockerfile\n", "a.txt": b"a",
                   "b.log": b"b"})
    context = without_ignored(receive(tmp_path, data), progress.BuildOptions())
    assert sorted(context.entries) == [".dockerignore", "Dockerfile", "a.txt"]
    assert dockerfile_text(context, progress.BuildOptions()) == "FROM busybox\n"
    given = progress.BuildOptions(dockerfile_content=b"FROM scratch\n")
    assert dockerfile_text(context, given) == "FROM scratch\n"
    with pytest.raises(ContextError, match="Cannot locate specified Dockerfile: other"):
        dockerfile_text(context, progress.BuildOptions(dockerfile="other"))


def test_a_context_past_the_bound_is_refused_as_it_arrives(tmp_path):
    data = tar_of({"big": b"x" * 10_000})
    with pytest.raises(ContextError, match="larger than the maximum of 4096 bytes"):
        receive(tmp_path, data, ContextLimits(max_bytes=4096))


def test_an_empty_stream_is_an_empty_context(tmp_path):
    assert receive(tmp_path, b"").entries == {}


def test_options_and_progress_map_to_and_from_the_proto():
    options = options_of(pb.BuildOptions(tags=["a:1"], build_args={"K": "V"}, network="none", no_cache=True))
    assert options == progress.BuildOptions(tags=("a:1",), build_args={"K": "V"}, network="none", no_cache=True)
    assert options_of(pb.BuildOptions(dockerfile_content=b"")).dockerfile_content == b""
    assert progress_of(progress.StepStarted(text="Step 1/1 : FROM x")).step == "Step 1/1 : FROM x"
    assert progress_of(progress.StepOutput(data=b"\x00hi")).output == b"\x00hi"
    assert progress_of(progress.Tagged(name="a:1")).WhichOneof("event") == "tagged"
