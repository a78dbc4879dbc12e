"""The one source of time for the engine, the emulator and the recorder.

Live runs use wall time driven by the host event loop (Qt timers inside pykiwoom's
QApplication); simulation uses :class:`VirtualClock`, a discrete-event scheduler whose timers are
interleaved with replayed market data in timestamp order. Engine code asks this object for the
time and for timers and never calls ``time.time()``/``sleep`` or starts threads.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from .seoul import NS_PER_MS, NS_PER_S  # noqa: F401  (re-exported: the clock's units)


@dataclass(slots=True)
class TimerHandle:
    when_ns: int
    seq: int
    fn: Callable[..., Any]
    args: tuple = ()
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock(Protocol):
    def now_ns(self) -> int: ...

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> TimerHandle: ...

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle: ...


class VirtualClock:
    """Virtual time: ``now_ns`` only moves when the loop advances it to the next due event.

    Events at the same instant run in the order they were scheduled (a sequence number breaks
    ties), which keeps simulations deterministic.
    """

    def __init__(self, start_ns: int = 0):
        self._now = start_ns
        # (when_ns, seq, handle): tuples compare in C, the dataclass's ordering in Python
        self._heap: list[tuple[int, int, TimerHandle]] = []
        self._seq = itertools.count()

    def now_ns(self) -> int:
        return self._now

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        handle = TimerHandle(max(int(when_ns), self._now), next(self._seq), fn, args)
        heapq.heappush(self._heap, (handle.when_ns, handle.seq, handle))
        return handle

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        return self.call_at(self._now + int(delay_ms * NS_PER_MS), fn, *args)

    def next_due_ns(self) -> int | None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def skip_to(self, when_ns: int) -> None:
        """Move time forward to ``when_ns`` without firing anything due then (a lockstep peer says
        nothing happened before it); timers due earlier would be a caller's bug."""
        due = self.next_due_ns()
        if due is not None and due < when_ns:
            raise RuntimeError(f"skip_to({when_ns}) would jump over a timer due at {due}")
        self._now = max(self._now, when_ns)

    def run_until(self, until_ns: int) -> int:
        """Fire every timer due at or before ``until_ns`` in order; leave now at ``until_ns``.

        Returns how many timers fired. Timers scheduled while running are honoured if due.
        """
        fired = 0
        heap = self._heap
        while heap and heap[0][0] <= until_ns:
            when, _, handle = heapq.heappop(heap)
            if handle.cancelled:
                continue
            self._now = when
            handle.fn(*handle.args)
            fired += 1
        if until_ns > self._now:
            self._now = until_ns
        return fired


class WallClock(VirtualClock):
    """Wall time for a host loop that is not Qt's (the engine beside a gateway, the gateway
    itself): the same timer heap as :class:`VirtualClock`, with ``now`` read from the system
    clock, optionally sped up from a shared origin so that two processes replaying one market
    day agree on its time: ``now = origin_ns + (time.time_ns() - wall_origin_ns) * speed``.
    The host loop sleeps until ``next_due_ns()`` and then calls ``run_due()``."""

    def __init__(self, origin_ns: int | None = None, *, wall_origin_ns: int | None = None,
                 speed: float = 1.0):
        import time

        self._time_ns = time.time_ns
        self.wall_origin_ns = self._time_ns() if wall_origin_ns is None else wall_origin_ns
        self.origin_ns = self.wall_origin_ns if origin_ns is None else origin_ns
        self.speed = speed
        super().__init__(self.now_ns())

    def now_ns(self) -> int:
        return self.origin_ns + int((self._time_ns() - self.wall_origin_ns) * self.speed)

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        self._now = self.now_ns()
        return super().call_at(when_ns, fn, *args)

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        return self.call_at(self.now_ns() + int(delay_ms * NS_PER_MS), fn, *args)

    def run_due(self) -> int:
        """Fire every timer due by now (``now_ns()`` stays the system's while they run)."""
        return self.run_until(self.now_ns())

    def wall_delay_s(self, when_ns: int) -> float:
        """Seconds of wall time until ``when_ns`` (0 if past)."""
        return max(0.0, (when_ns - self.now_ns()) / self.speed / NS_PER_S)
