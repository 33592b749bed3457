"""Calls released together, so that they really overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def all_at_once(calls: list[Callable[[], T]], threads: int | None = None) -> list[T]:
    """Run ``calls`` on ``threads`` threads; the first wave starts together from a barrier."""
    threads = threads or len(calls)
    barrier = threading.Barrier(min(threads, len(calls)))

    def run(call: Callable[[], T], index: int) -> T:
        if index < barrier.parties:
            barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run, call, index) for index, call in enumerate(calls)]
        return [future.result(timeout=120) for future in futures]
