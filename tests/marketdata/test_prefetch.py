"""Prefetched chunks arrive in order, errors surface at the chunk that failed, and stopping early
neither hangs nor reads the whole file."""
from __future__ import annotations

import threading

import pytest

from kxrules.marketdata.prefetch import prefetched


def test_items_arrive_in_order_and_are_produced_off_the_main_thread():
    producers = []

    def items():
        for i in range(50):
            producers.append(threading.current_thread() is threading.main_thread())
            yield i
    assert list(prefetched(items())) == list(range(50))
    assert not any(producers)


def test_an_error_surfaces_at_the_failing_item():
    def items():
        yield 1
        yield 2
        raise ValueError("row 7: bad venue")
    got = []
    with pytest.raises(ValueError, match="bad venue"):
        for x in prefetched(items()):
            got.append(x)
    assert got == [1, 2]


@pytest.mark.parametrize("depth, taken", [(1, 3), (3, 5)])
def test_stopping_early_reads_only_the_read_ahead_past_what_was_taken(depth, taken):
    """In order, and closing the stream stops the reading ``depth`` items past the last taken
    (the default: one)."""
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i
    stream = prefetched(items()) if depth == 1 else prefetched(items(), depth=depth)
    assert [next(stream) for _ in range(taken)] == list(range(taken))
    stream.close()
    assert produced == list(range(taken + depth))
