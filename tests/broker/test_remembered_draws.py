"""A sweep worker's remembered latency draws are the stream's own numbers, in its order: a
sampler reading them (scalar and array draws mixed, across block edges and past the kept
limit) gives exactly what a sampler drawing live gives, run after run."""
from __future__ import annotations

import numpy as np
import pytest

from kxrules.broker.emulator import remembered
from kxrules.broker.emulator.config import LognormalLatency, UniformLatency
from kxrules.broker.emulator.delivery import RealDataQueue
from kxrules.broker.emulator.faults import LatencySampler, Rngs

SPECS = [LognormalLatency(dist="lognormal", median_ms=15, p99_ms=80, max_ms=60),
         UniformLatency(dist="uniform", low_ms=1, high_ms=9)]


@pytest.fixture
def keep_draws(monkeypatch):
    """Remembering on, with small blocks so that a few thousand draws cross several; off after."""
    monkeypatch.setattr(remembered, "BLOCK", 64)

    def keep(limit: int) -> None:
        remembered.remember_draws(limit)

    yield keep
    remembered.remember_draws(0)


def sampler(spec, *, remember: bool) -> LatencySampler:
    rngs = Rngs(7)
    if not remember:
        return LatencySampler(spec, rngs.real_data)
    return LatencySampler(spec, rngs.real_data, remember_as=(7, "real_data"), restart=lambda: Rngs(7).real_data)


def draw_mixed(s: LatencySampler) -> list[int]:
    """Scalar and array draws in a pattern that crosses block edges and the kept limit."""
    out: list[int] = []
    for k in (1, 63, 2, 130, 1, 1, 300, 0, 77, 500):
        out += [s.ns()] if k == 1 else s.ns_many(k).tolist()
    return out


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.dist)
@pytest.mark.parametrize("limit", [1, 64, 200, 10_000])
def test_remembered_draws_equal_live_draws_run_after_run(spec, limit, keep_draws):
    expected = draw_mixed(sampler(spec, remember=False))
    keep_draws(limit)
    first = draw_mixed(sampler(spec, remember=True))         # makes the kept copy
    second = draw_mixed(sampler(spec, remember=True))        # reads it
    assert first == expected
    assert second == expected


def test_the_real_data_queue_delivers_the_same_with_remembered_draws(keep_draws):
    spec = SPECS[0]
    fed = np.sort(np.random.default_rng(3).integers(0, 10_000_000_000, size=5_000))
    runs = np.array_split(fed, 7)
    live = RealDataQueue(sampler(spec, remember=False))
    expected = [t for run in runs for t in live.due_many(run).tolist()]
    keep_draws(3_000)                       # the end of the day comes from the stream's own state
    for _ in range(2):
        queue = RealDataQueue(sampler(spec, remember=True))
        assert [t for run in runs for t in queue.due_many(run).tolist()] == expected


def test_nothing_is_remembered_unless_the_process_asks():
    assert remembered.remembered(("x",), lambda: np.random.default_rng(1), lambda rng, n: rng.random(n)) is None
