"""The fast replay's array draws of quote latencies equal the faithful path's one-by-one draws."""
from __future__ import annotations

import numpy as np
import pytest

from kxrules.broker.emulator.config import FixedLatency, LognormalLatency, UniformLatency
from kxrules.broker.emulator.faults import LatencySampler

SPECS = [FixedLatency(dist="fixed", ms=0.0004), LognormalLatency(dist="lognormal", median_ms=15, p99_ms=80),
         LognormalLatency(dist="lognormal", median_ms=15, p99_ms=80, max_ms=20),
         UniformLatency(dist="uniform", low_ms=1, high_ms=9)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.dist)
def test_array_draws_equal_scalar_draws(spec):
    one_by_one = LatencySampler(spec, np.random.default_rng(5))
    at_once = LatencySampler(spec, np.random.default_rng(5))
    expected = [one_by_one.ns() for _ in range(500)] + [one_by_one.ns() for _ in range(7)]
    got = at_once.ns_many(500).tolist() + at_once.ns_many(7).tolist()
    assert got == expected
    assert min(got) >= 1_000                          # a cause always precedes its effect


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.dist)
def test_the_real_data_queue_delivers_a_run_as_it_delivers_its_records_one_by_one(spec):
    """The fast path's batch form of the delivery rule is the faithful path's, record by record
    (FIFO across runs included: a run never overtakes the one before it)."""
    from kxrules.broker.emulator.delivery import RealDataQueue

    rng = np.random.default_rng(9)
    runs = [np.sort(rng.integers(0, 50_000_000, size=k)) + i * 50_000_000 for i, k in enumerate((40, 1, 0, 25))]
    one_by_one = RealDataQueue(LatencySampler(spec, np.random.default_rng(5)))
    at_once = RealDataQueue(LatencySampler(spec, np.random.default_rng(5)))
    expected = [one_by_one.due(int(t)) for run in runs for t in run]
    got = [t for run in runs for t in at_once.due_many(run).tolist()]
    assert got == expected
    assert got == sorted(got)
    assert at_once.last_ns == one_by_one.last_ns
