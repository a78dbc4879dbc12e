"""A latency stream's draws made once per process and handed out again to every run.

A sweep worker replays run after run with the same emulator seed (it comes from the profile, not
from the setting or the day), so every run draws the same sequence of real-data latencies: 14 M
lognormals for a 200-symbol hour, ~11% of a warm replay. With ``remember_draws(limit)`` the
first run's draws are kept and later runs read them. Exact by construction: the numbers are the
stream's own, in its order (numpy's Generator gives one array draw the numbers of as many scalar
draws); past ``limit`` draws a sampler goes on drawing from the stream's state at that point.
The memory is 8 bytes a draw, up to ``limit``, for the life of the process: only for processes
that replay many runs (``research.worker.SweepWorker``), never for one ``trade --replay``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

BLOCK = 1 << 20                      # draws are kept in blocks: growing never copies what is kept

Draw = Callable[[np.random.Generator, int], np.ndarray]


class RememberedDraws:
    """The first ``limit`` draws of one stream (seed, stream, distribution), made on demand."""

    def __init__(self, rng: np.random.Generator, draw: Draw, limit: int):
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._rng = rng               # positioned at the stream's start; only this object draws from it
        self._draw = draw
        self.limit = limit
        self._blocks: list[np.ndarray] = []
        self.size = 0
        self.state_at_limit: Mapping[str, Any] | None = None   # the stream's state after ``limit`` draws

    def take(self, pos: int, n: int) -> np.ndarray:
        """Draws ``pos`` to ``pos + n`` (within ``limit``); a view when they lie in one block.
        Callers only read them."""
        assert pos + n <= self.limit, "past the remembered draws"
        while self.size < pos + n:
            k = min(BLOCK, self.limit - self.size)
            self._blocks.append(self._draw(self._rng, k))
            self.size += k
            if self.size == self.limit:
                self.state_at_limit = copy.deepcopy(self._rng.bit_generator.state)
        block, offset = divmod(pos, BLOCK)
        if offset + n <= BLOCK:
            return self._blocks[block][offset:offset + n]
        parts, left = [], n
        while left:
            k = min(BLOCK - offset, left)
            parts.append(self._blocks[block][offset:offset + k])
            left -= k
            block, offset = block + 1, 0
        return np.concatenate(parts)


_limit = 0
_kept: dict[tuple[Any, ...], RememberedDraws] = {}


def remember_draws(limit: int) -> None:
    """From now on, this process keeps up to ``limit`` draws of each remembered stream (0: off)."""
    global _limit
    _limit = limit
    if not limit:
        _kept.clear()


def remembered(key: tuple[Any, ...], make_rng: Callable[[], np.random.Generator], draw: Draw) -> RememberedDraws | None:
    """The kept draws of the stream ``key`` (everything that decides its numbers: seed, stream,
    distribution), or None when this process keeps none. ``make_rng``: the stream at its start."""
    if not _limit:
        return None
    memo = _kept.get(key)
    if memo is None or memo.limit != _limit:
        memo = _kept[key] = RememberedDraws(make_rng(), draw, _limit)
    return memo
