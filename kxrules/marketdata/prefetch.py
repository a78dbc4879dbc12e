"""Read the next chunk of a quote file while the replay works on the current one.

Decoding Parquet releases the GIL, so on a 2-core machine a helper thread hides most of the read
(about 0.4-0.6 s of a 14 M-row file; ``iter_quote_batches(read_ahead=True)`` reads its record
batches here and converts them on the caller's thread). The helper only ever calls the
iterator; nothing of the engine, the emulator or the clock runs off the main thread, and chunks
arrive in file order, so a replay stays deterministic.
"""
from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar, cast

T = TypeVar("T")
_END = object()


def prefetched(items: Iterator[T]) -> Iterator[T]:
    """Yield ``items`` in order, the next one already being produced on a helper thread.
    An error raised by the iterator surfaces here, at the item it failed on."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kxrules-read") as pool:
        pending = pool.submit(next, items, _END)
        while True:
            item = pending.result()
            if item is _END:
                return
            pending = pool.submit(next, items, _END)
            yield cast(T, item)             # not _END
