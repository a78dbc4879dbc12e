"""The fast replay's real-data latencies drawn ahead on a helper thread are the stream's own
numbers, in its order: a sampler that starts drawing ahead (a bulk read) gives exactly what a
sampler drawing on the caller's thread gives, scalar and array draws mixed, across block edges."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from kxrules.broker.emulator import draw_ahead, faults
from kxrules.broker.emulator.delivery import RealDataQueue
from kxrules.broker.emulator.faults import LatencySampler

from .test_remembered_draws import SPECS, sampler    # remember=True: the stream's sole consumer


@pytest.fixture
def small_blocks(monkeypatch):
    """Bulk reads from 50 draws on, blocks of 64: a few thousand draws cross many blocks."""
    monkeypatch.setattr(faults, "DRAW_AHEAD_FROM", 50)
    monkeypatch.setattr(draw_ahead, "BLOCK", 64)


def draw_mixed(s: LatencySampler) -> list[int]:
    out: list[int] = []
    for k in (1, 49, 2, 130, 1, 1, 300, 0, 77, 64, 1, 500, 1):
        out += [s.ns()] if k == 1 else s.ns_many(k).tolist()
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.dist)
def test_drawing_ahead_gives_the_streams_own_numbers_in_order(spec, small_blocks):
    expected = draw_mixed(sampler(spec, remember=False))
    ahead = sampler(spec, remember=True)
    assert draw_mixed(ahead) == expected
    assert ahead._ahead is not None, "the bulk read of 130 started the helper"


def test_only_a_streams_sole_consumer_draws_ahead(small_blocks):
    shared = sampler(SPECS[0], remember=False)
    shared.ns_many(1_000)
    assert shared._ahead is None


def test_the_real_data_queue_delivers_the_same_when_drawing_ahead(small_blocks):
    fed = np.sort(np.random.default_rng(3).integers(0, 10_000_000_000, size=5_000))
    runs = np.array_split(fed, 7)
    live = RealDataQueue(sampler(SPECS[0], remember=False))
    expected = [t for run in runs for t in live.due_many(run).tolist()]
    ahead = RealDataQueue(sampler(SPECS[0], remember=True))
    assert [t for run in runs for t in ahead.due_many(run).tolist()] == expected


def test_a_failed_draw_surfaces_on_the_reader_at_its_block():
    calls = []

    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        calls.append(threading.current_thread().name)
        if len(calls) == 2:
            raise MemoryError("no room for the next block")
        return rng.random(n)

    ahead = draw_ahead.DrawAhead(np.random.default_rng(1), draw, block=10)
    assert len(ahead.take(10)) == 10
    with pytest.raises(MemoryError, match="next block"):
        ahead.take(1)
    assert set(calls) == {"kxrules-draws"}, "every block is drawn off the reader's thread"
