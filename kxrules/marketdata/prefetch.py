"""Prepare the next chunks of a quote file while the replay works on the current one.

Decoding Parquet and the compiled shadow pass let go of the GIL, so on a 2-core machine a helper
thread hides them (about 0.6 s of a 14 M-row file: ``runtime.shadow.shadowed_chunks``). The
helper only ever calls the iterator; nothing of the engine, the emulator or the clock runs off
the main thread, and chunks arrive in file order, so a replay stays deterministic.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
_END = object()


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield ``items`` in order, the next ``depth`` ones already being produced on a helper
    thread. An error raised by the iterator surfaces here, at the item it failed on."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kxrules-read") as pool:
        ahead = deque(pool.submit(next, items, _END) for _ in range(depth))
        while True:
            item = ahead.popleft().result()
            if item is _END:
                return
            ahead.append(pool.submit(next, items, _END))
            yield cast(T, item)             # not _END
