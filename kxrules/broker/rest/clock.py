"""A Clock on an asyncio event loop: wall time, optionally sped up, shared by two loops.

``Timeline`` maps the loop's monotonic time to the session's epoch ns: live it is wall time
(``speed`` 1, anchored at ``time.time_ns()``); against the REST emulator it may start at a chosen
time of day and run N× faster, so a day is tested in seconds. The engine's loop and the
emulator's loop (another thread) each get an ``AsyncioClock`` over the same timeline, so both
read the same time; timers are the loop's own (``loop.call_at``), never threads.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ...clock import TimerHandle
from ...seoul import NS_PER_MS


@dataclass(frozen=True, slots=True)
class Timeline:
    start_ns: int                                   # the session time at ``mono0``
    speed: float = 1.0
    mono0: float = field(default_factory=time.monotonic)

    @classmethod
    def wall(cls) -> "Timeline":
        return cls(time.time_ns())

    def now_ns(self) -> int:
        return self.start_ns + int((time.monotonic() - self.mono0) * self.speed * 1e9)

    def mono_at(self, when_ns: int) -> float:
        return self.mono0 + (when_ns - self.start_ns) / self.speed / 1e9


class AsyncioClock:
    """``now_ns``/``call_at``/``call_later`` on one loop, with ``VirtualClock``'s ordering: timers
    run in time order and, at the same time, in the order they were set (asyncio's own timer heap
    does not promise that, and two reports 1 µs apart must not swap). One loop timer is armed
    for the earliest of our timers."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeline: Timeline) -> None:
        self.loop = loop
        self.timeline = timeline
        self._heap: list[tuple[int, int, TimerHandle]] = []
        self._seq = itertools.count()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_ns: int | None = None

    @property
    def speed(self) -> float:
        return self.timeline.speed

    def now_ns(self) -> int:
        return self.timeline.now_ns()

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        handle = TimerHandle(max(int(when_ns), self.now_ns()), next(self._seq), fn, args)
        heapq.heappush(self._heap, (handle.when_ns, handle.seq, handle))
        self._arm()
        return handle

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:
        return self.call_at(self.now_ns() + int(delay_ms * NS_PER_MS), fn, *args)

    def sleep_s(self, session_seconds: float) -> float:
        """Wall seconds that pass while the session's clock moves ``session_seconds``."""
        return session_seconds / self.timeline.speed

    def _arm(self) -> None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        if not heap:
            return
        when = heap[0][0]
        if self._wake is not None and self._wake_ns is not None and self._wake_ns <= when:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake_ns = when
        delay = self.timeline.mono_at(when) - time.monotonic()
        self._wake = self.loop.call_at(self.loop.time() + max(0.0, delay), self._run_due)

    def _run_due(self) -> None:
        self._wake = self._wake_ns = None
        heap = self._heap
        now = self.now_ns()
        try:
            while heap and heap[0][0] <= now:
                _, _, handle = heapq.heappop(heap)
                if not handle.cancelled:
                    handle.fn(*handle.args)
        finally:
            self._arm()
