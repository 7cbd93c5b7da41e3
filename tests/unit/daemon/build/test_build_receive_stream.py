"""The context unpacked as it arrives (build/receive.py): the digests taken while writing are the ones a
second read would give; a hostile member ends the call without the rest being read; a call cut off
mid-context ends the unpacking thread before the caller removes its files; a tar's trailing padding and a
compressed tar come through."""

import asyncio
import gzip
import hashlib
import os
import threading

import pytest
from pyruncd.build.context import BuildContext, ContextLimits, EntryKind
from pyruncd.build.errors import ContextError
from pyruncd.build.receive import receive_context
from pyruncd.build.sources import resolve_sources, source_digest

from .test_build_context import tar_of


async def chunks_of(data: bytes, size: int, sent: list[int] | None = None):
    for start in range(0, len(data), size):
        if sent is not None:
            sent.append(start)
        yield data[start:start + size]
        await asyncio.sleep(0)


def receive(tmp_path, data: bytes, size: int = 1000, sent: list[int] | None = None):
    return asyncio.run(receive_context(chunks_of(data, size, sent), tmp_path, ContextLimits()))


def test_digests_taken_while_writing_match_a_second_read(tmp_path):
    big = os.urandom(300_000)
    members = [("d/", "dir", None), ("d/big", "file", big), ("d/small", "file", b"s"), ("d/hard", "hard", "d/big"),
               ("d/link", "sym", "small"), ("d/small", "file", b"replaced")]
    (tmp_path / "w").mkdir()
    context = receive(tmp_path / "w", tar_of(members).getvalue(), size=4096)
    assert context.content_digest("d/big") == context.content_digest("d/hard") == hashlib.sha256(big).hexdigest()
    assert context.open("d/small").read() == b"replaced"
    assert context.content_digest("d/small") == hashlib.sha256(b"replaced").hexdigest()
    # the same entries without the digests taken: their files read again give the same cache key input
    inodes = {path: (info.st_dev, info.st_ino) for path, entry in context.entries.items()
              if entry.kind is EntryKind.FILE and (info := os.stat(context.root / path))}
    again = BuildContext(context.root, context.entries, inodes)
    assert again.content_digest("d/big") is None
    assert source_digest(context, resolve_sources(context, ["d/big", "d/small"])) == source_digest(
        again, resolve_sources(again, ["d/big", "d/small"]))


def test_a_hostile_member_ends_the_call_before_the_rest_is_read(tmp_path):
    data = tar_of([("../escape", "file", b"x"), ("after", "file", os.urandom(2_000_000))]).getvalue()
    sent: list[int] = []
    with pytest.raises(ContextError, match='"../escape" is outside of the context'):
        receive(tmp_path, data, size=10_000, sent=sent)
    assert len(sent) < len(data) // 10_000


def test_a_call_cut_off_mid_context_ends_the_unpacking_first(tmp_path):
    data = tar_of([("big", "file", b"x" * 1_000_000)]).getvalue()
    threads = threading.active_count()

    async def cut_off():
        async def chunks():
            yield data[:100_000]
            await asyncio.sleep(60)  # the client stops sending, then goes

        task = asyncio.ensure_future(receive_context(chunks(), tmp_path, ContextLimits()))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cut_off())
    assert threading.active_count() == threads  # the reader ended: nothing writes under work any more


def test_padding_after_the_archive_and_a_compressed_tar(tmp_path):
    data = tar_of([("f", "file", b"data")]).getvalue() + b"\0" * 100_000
    (tmp_path / "plain").mkdir()
    assert receive(tmp_path / "plain", data).open("f").read() == b"data"
    (tmp_path / "gz").mkdir()
    assert receive(tmp_path / "gz", gzip.compress(data)).content_digest("f") == hashlib.sha256(b"data").hexdigest()
