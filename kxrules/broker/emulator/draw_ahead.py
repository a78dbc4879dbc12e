"""A random stream's next draws, made on a helper thread while the replay works.

A cold fast replay draws one real-data latency per quote: 14 M lognormals for a 200-symbol hour,
0.3-0.45 s of the main thread. numpy's Generator lets go of the interpreter's lock while it fills
an array, so a helper on the second core makes them instead. Exact: from the moment it starts the
helper is the stream's only user and draws block after block in the stream's order (one array
draw gives the numbers of as many scalar draws); the main thread takes them in that order. One
block is drawn at a time and its thread ends with it, so nothing outlives a run (a block nobody
takes is dropped). The helper touches only the generator and its own array.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np

BLOCK = 1 << 20                      # 8 MB a block; the main thread holds one, the helper draws the next

Draw = Callable[[np.random.Generator, int], np.ndarray]


class _Block:
    """One block being drawn on its own thread."""

    __slots__ = ("_thread", "_result")

    def __init__(self, rng: np.random.Generator, draw: Draw, size: int):
        self._result: np.ndarray | BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(rng, draw, size), name="kxrules-draws", daemon=True)
        self._thread.start()

    def _run(self, rng: np.random.Generator, draw: Draw, size: int) -> None:
        try:
            self._result = draw(rng, size)
        except BaseException as exc:     # handed to the main thread at the block it failed on
            self._result = exc

    def result(self) -> np.ndarray:
        self._thread.join()
        r = self._result
        if isinstance(r, BaseException):
            raise r
        assert r is not None, "the thread ended with a result"
        return r


class DrawAhead:
    """The stream's draws from ``rng``'s present state on, one block ahead of the reader."""

    __slots__ = ("_rng", "_draw", "_block", "_current", "_pos", "_next")

    def __init__(self, rng: np.random.Generator, draw: Draw, block: int = BLOCK):
        if block < 1:
            raise ValueError("block must be at least 1")
        self._rng, self._draw, self._block = rng, draw, block
        self._current = np.empty(0, dtype=np.float64)
        self._pos = 0
        self._next = _Block(rng, draw, block)

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` draws (read only: a view of the block when they lie in one)."""
        pos = self._pos
        if pos + n <= len(self._current):
            self._pos = pos + n
            return self._current[pos:pos + n]
        parts = [self._current[pos:]]
        left = n - len(parts[0])
        while left:
            self._current = self._next.result()
            self._next = _Block(self._rng, self._draw, self._block)
            k = min(left, len(self._current))
            parts.append(self._current[:k])
            self._pos = k
            left -= k
        return np.concatenate(parts)
