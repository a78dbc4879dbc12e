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


def test_stopping_early_reads_at_most_one_item_ahead():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i
    stream = prefetched(items())
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert produced == [0, 1, 2, 3]


def test_a_deeper_read_ahead_keeps_order_and_stops_that_many_items_ahead():
    produced = []

    def items():
        for i in range(100):
            produced.append(i)
            yield i
    stream = prefetched(items(), depth=3)
    assert [next(stream) for _ in range(5)] == list(range(5))
    stream.close()
    assert produced == list(range(5 + 3))
