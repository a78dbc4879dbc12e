"""Seeded randomness for the emulator: latency samplers and fault decisions.

One ``SeedSequence(seed)`` is split into independent streams (latency, faults, fills, real-data
delivery, account queries, lost events) so that, e.g., publishing real data on the faithful path does not shift the draws that
decide fills.
"""
from __future__ import annotations

import numpy as np

from ...seoul import NS_PER_MS
from .config import EmulatorConfig, FixedLatency, LognormalLatency, UniformLatency

MIN_LATENCY_NS = 1_000           # causes precede their effects
# appended streams keep the earlier ones' draws (a SeedSequence child depends only on its index)
STREAMS = ("latency", "fault", "fill", "real_data", "query", "loss")


class Rngs:
    def __init__(self, seed: int):
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.latency, self.fault, self.fill, self.real_data, self.query, self.loss = (
            np.random.Generator(np.random.PCG64(c)) for c in children)


class LatencySampler:
    """Draws a latency in integer nanoseconds (≥ 1 µs so that causes precede effects)."""

    __slots__ = ("_kind", "_a", "_b", "_cap", "_rng")

    def __init__(self, spec: FixedLatency | LognormalLatency | UniformLatency,
                 rng: np.random.Generator):
        self._rng = rng
        self._cap = float("inf")
        if isinstance(spec, FixedLatency):
            self._kind, self._a, self._b = 0, spec.ms, 0.0
        elif isinstance(spec, LognormalLatency):
            self._kind, self._a, self._b = 1, float(np.log(spec.median_ms)), spec.sigma
            if spec.max_ms is not None:
                self._cap = spec.max_ms
        else:
            self._kind, self._a, self._b = 2, spec.low_ms, spec.high_ms

    def ns(self) -> int:
        if self._kind == 0:
            ms = self._a
        elif self._kind == 1:
            ms = min(float(self._rng.lognormal(self._a, self._b)), self._cap)
        else:
            ms = float(self._rng.uniform(self._a, self._b))
        return max(MIN_LATENCY_NS, int(ms * NS_PER_MS))

    def ns_many(self, n: int) -> np.ndarray:
        """``n`` draws at once, equal to ``n`` calls of :meth:`ns` (numpy's Generator gives the
        same numbers for one array draw as for as many scalar draws)."""
        ms: np.ndarray = np.minimum(self.ms_many(n), self._cap)
        return np.maximum(MIN_LATENCY_NS, (ms * NS_PER_MS).astype(np.int64))

    def ms_many(self, n: int) -> np.ndarray:
        """``n`` draws in milliseconds, before the cap (``cap_ms``) and the rounding to ns."""
        if self._kind == 0:
            return np.full(n, self._a, dtype=np.float64)
        if self._kind == 1:
            return self._rng.lognormal(self._a, self._b, size=n)
        return self._rng.uniform(self._a, self._b, size=n)

    @property
    def cap_ms(self) -> float:
        return self._cap


class Latencies:
    def __init__(self, cfg: EmulatorConfig, rngs: Rngs):
        lat = cfg.latency_ms
        r = rngs.latency
        self.login = LatencySampler(lat.login, r)
        self.tr_ack = LatencySampler(lat.tr_ack, r)
        self.accept = LatencySampler(lat.accept, r)
        self.match = LatencySampler(lat.match, r)
        self.fill = LatencySampler(lat.fill, r)
        self.cancel = LatencySampler(lat.cancel, r)
        self.real_data = LatencySampler(lat.real_data, rngs.real_data)
        self.query = LatencySampler(lat.query, rngs.query)


class FaultDice:
    """Bernoulli draws for the fault schedule. A rate of 0 never draws (keeps streams stable)."""

    def __init__(self, cfg: EmulatorConfig, rng: np.random.Generator):
        self.f = cfg.faults
        self._rng = rng

    def hit(self, rate: float) -> bool:
        if rate <= 0.0:
            return False
        if rate >= 1.0:
            return True
        return bool(self._rng.random() < rate)
