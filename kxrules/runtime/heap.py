"""Keep start-up objects out of the garbage collector's passes while a session trades and
records its end.

Start-up leaves ~75 k tracked objects behind (config models, numba's type registries, the DuckDB
and pyarrow bindings). A collection of the oldest generation walks all of them: 28 ms measured on
a 2-core machine, a stall longer than the tick→signal SLO, at a moment the collector picks.
``gc.freeze()`` moves them to a permanent generation, so collections during the day and during
the run's final write (which allocates every buffered row) walk only what the run allocated.
"""
from __future__ import annotations

import functools
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, TypeVar

Fn = TypeVar("Fn", bound=Callable[..., Any])

_process_frozen = False     # freeze_process_startup ran (gc.get_freeze_count() walks the frozen list: ~30 ms)
_held_for_startup = False   # collections are off until the session's heap is frozen
# Objects created while collections were held. A start-up with its kernels cached leaves ~190 k
# (3 k of them garbage: freezing them costs less than the 100 ms collection that finds them);
# one that compiled its kernels leaves ~610 k, half of them numba's garbage, worth collecting.
GARBAGE_WORTH_COLLECTING = 400_000


def no_collections_until_the_session(command: Fn) -> Fn:
    """A command that starts a session: no automatic collections while it imports and builds.

    The ~190 k objects start-up creates live for the whole run and are frozen at the session's
    start; as they accumulated, the collector walked them again and again (3 full passes and
    ~400 young ones), then once more before the freeze. A cold replay spent 250 ms in
    collections, 45 ms with them held. ``frozen_startup_heap`` freezes and turns collections
    back on; the command's end turns them on in any case (a usage error, or a command that
    never reached its session)."""
    @functools.wraps(command)
    def held(*args: Any, **kwargs: Any) -> Any:
        global _held_for_startup
        if not gc.isenabled():
            return command(*args, **kwargs)
        gc.disable()
        _held_for_startup = True
        try:
            return command(*args, **kwargs)
        finally:
            _held_for_startup = False
            gc.enable()
    return held  # type: ignore[return-value]


@contextmanager
def frozen_startup_heap() -> Iterator[None]:
    global _held_for_startup
    if not _held_for_startup or gc.get_count()[0] > GARBAGE_WORTH_COLLECTING:
        gc.collect()        # what start-up already dropped should not be frozen with the rest
    if _held_for_startup:
        _held_for_startup = False
        gc.enable()
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
