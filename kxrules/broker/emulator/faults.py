"""Seeded randomness for the emulator: latency samplers and fault decisions.

One ``SeedSequence(seed)`` is split into independent streams (latency, faults, fills, real-data
delivery, account queries, lost events) so that, e.g., publishing real data on the faithful path does not shift the draws that
decide fills.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from ...seoul import NS_PER_MS
from .config import EmulatorConfig, FixedLatency, LognormalLatency, UniformLatency
from .draw_ahead import DrawAhead
from .remembered import RememberedDraws, remembered

MIN_LATENCY_NS = 1_000           # causes precede their effects
# an array draw this large means a fast replay is reading the stream in bulk: its owner draws ahead
DRAW_AHEAD_FROM = 1 << 14
# appended streams keep the earlier ones' draws (a SeedSequence child depends only on its index)
STREAMS = ("latency", "fault", "fill", "real_data", "query", "loss")


class Rngs:
    def __init__(self, seed: int):
        self.seed = seed
        children = np.random.SeedSequence(seed).spawn(len(STREAMS))
        self.latency, self.fault, self.fill, self.real_data, self.query, self.loss = (
            np.random.Generator(np.random.PCG64(c)) for c in children)


def _draw(kind: int, a: float, b: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """The stream's next ``n`` draws in milliseconds, before the cap (kind 1 lognormal, 2 uniform)."""
    if kind == 1:
        return rng.lognormal(a, b, size=n)
    return rng.uniform(a, b, size=n)


class LatencySampler:
    """Draws a latency in integer nanoseconds (≥ 1 µs so that causes precede effects).

    ``remember_as`` names the stream (with ``restart``, a new generator at its start) for a
    sampler that is its stream's only consumer: in a process that remembers draws
    (``remembered.remember_draws``) its numbers come from the process's kept copy; otherwise,
    once it is read in bulk (a fast replay), a helper thread draws ahead (``draw_ahead``)."""

    __slots__ = ("_kind", "_a", "_b", "_cap", "_rng", "_memo", "_pos", "_own_stream", "_ahead")

    def __init__(self, spec: FixedLatency | LognormalLatency | UniformLatency,
                 rng: np.random.Generator, *, remember_as: tuple[Any, ...] | None = None,
                 restart: Callable[[], np.random.Generator] | None = None):
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
        self._memo: RememberedDraws | None = None
        self._pos = 0                 # draws taken so far (from the kept copy, then from ``rng``)
        self._own_stream = remember_as is not None and bool(self._kind)
        self._ahead: DrawAhead | None = None    # from its start on, the only user of ``rng``
        if remember_as is not None and restart is not None and self._kind:
            self._memo = remembered(remember_as + (self._kind, self._a, self._b), restart,
                                    partial(_draw, self._kind, self._a, self._b))

    def ns(self) -> int:
        if self._kind == 0:
            ms = self._a
        elif self._memo is not None:
            ms = min(float(self._remembered(1)[0]), self._cap)
        elif self._ahead is not None:
            ms = min(float(self._ahead.take(1)[0]), self._cap)
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
        """``n`` draws in milliseconds, before the cap (``cap_ms``) and the rounding to ns
        (read only: they may be the kept copy's own)."""
        if self._kind == 0:
            return np.full(n, self._a, dtype=np.float64)
        if self._memo is not None:
            return self._remembered(n)
        if self._ahead is not None:
            return self._ahead.take(n)
        ms = _draw(self._kind, self._a, self._b, self._rng, n)
        if n >= DRAW_AHEAD_FROM and self._own_stream:
            self._ahead = DrawAhead(self._rng, partial(_draw, self._kind, self._a, self._b))
        return ms

    def _remembered(self, n: int) -> np.ndarray:
        """The next ``n`` draws: the kept copy's while it lasts, then the stream's own from the
        state the kept copy ended at."""
        memo, pos = self._memo, self._pos
        assert memo is not None, "only for a remembered stream"
        self._pos = pos + n
        if pos + n <= memo.limit:
            return memo.take(pos, n)
        head = memo.take(pos, memo.limit - pos) if pos < memo.limit else None
        if pos <= memo.limit:         # the first draw past the kept ones
            assert memo.state_at_limit is not None, "the kept copy reached its limit"
            self._rng.bit_generator.state = memo.state_at_limit
        tail = _draw(self._kind, self._a, self._b, self._rng, pos + n - max(pos, memo.limit))
        return tail if head is None else np.concatenate([head, tail])

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
        # the one consumer of its stream, and most of the draws (one per quote): remembered
        # where the process keeps draws (a sweep worker)
        self.real_data = LatencySampler(lat.real_data, rngs.real_data, remember_as=(rngs.seed, "real_data"),
                                        restart=lambda: Rngs(rngs.seed).real_data)
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
