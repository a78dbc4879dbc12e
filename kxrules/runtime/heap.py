"""Keep start-up objects out of the garbage collector's passes while a session trades and
records its end.

Start-up leaves ~75 k tracked objects behind (config models, numba's type registries, the DuckDB
and pyarrow bindings). A collection of the oldest generation walks all of them: 28 ms measured on
a 2-core machine, a stall longer than the tick→signal SLO, at a moment the collector picks.
``gc.freeze()`` moves them to a permanent generation, so collections during the day and during
the run's final write (which allocates every buffered row) walk only what the run allocated.
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


_process_frozen = False     # freeze_process_startup ran (gc.get_freeze_count() walks the frozen list: ~30 ms)


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    gc.collect()            # what start-up already dropped should not be frozen with the rest
    if _process_frozen:
        # a long-lived process froze its own start-up (``freeze_process_startup``): that stays
        # frozen, the session's few start-up objects are left to the collector
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()       # back to normal for shutdown (extension modules check for leaks)


def freeze_process_startup() -> None:
    """For a process that runs session after session (a sweep worker), once its imports and
    compiled kernels are loaded: keep them out of every later collection for good. Without
    this each session froze and unfroze them again, and its first full collection (the one
    that frees the previous session) walked all of them: 60 of a warm replay's 75 ms of GC."""
    global _process_frozen
    if not _process_frozen:
        gc.collect()
        gc.freeze()
        _process_frozen = True
