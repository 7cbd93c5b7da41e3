"""Calls to the daemon from several threads at once, each thread on connections of its own (a
connection carries one call at a time). Imported where many calls go together only: a single
command's path needs no threads."""

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from . import Api

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def each_at_once(api: Api, items: list[T], call: Callable[[Api, T], R], workers: int) -> Iterator[list[Future[R]]]:
    """`call(own_api, item)` for every item, up to `workers` together: the futures in the items' order.
    Leaving the block cancels what has not started, waits for what has, and closes the connections."""
    local, opened = threading.local(), []

    def run(item: T) -> R:
        own = getattr(local, "api", None)
        if own is None:
            own = local.api = api.another()
            opened.append(own)
        return call(own, item)

    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items))))
    try:
        yield [pool.submit(run, item) for item in items]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for own in opened:
            own.close()
