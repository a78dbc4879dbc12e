"""A Clock on an asyncio event loop: wall time, optionally sped up, shared by two loops.

``Timeline`` maps the loop's monotonic time to the session's epoch ns: live it is wall time
(``speed`` 1, anchored at ``time.time_ns()``); against the REST emulator it may start at a chosen
time of day and run N× faster, so a day is tested in seconds. The engine's loop and the
emulator's loop (another thread) each get an ``AsyncioClock`` over the same timeline, so both
read the same time; timers are the loop's own (``loop.call_at``), never threads.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable

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


class AsyncioTimer:
    __slots__ = ("handle", "cancelled")

    def __init__(self) -> None:
        self.handle: asyncio.TimerHandle | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()


class AsyncioClock:
    """``now_ns``/``call_at``/``call_later`` on one loop. asyncio's loop time is
    ``time.monotonic`` (the default selector loops), which the timeline is anchored to."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeline: Timeline) -> None:
        self.loop = loop
        self.timeline = timeline

    @property
    def speed(self) -> float:
        return self.timeline.speed

    def now_ns(self) -> int:
        return self.timeline.now_ns()

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> AsyncioTimer:
        timer = AsyncioTimer()
        loop_t = self.loop.time() + (self.timeline.mono_at(int(when_ns)) - time.monotonic())
        timer.handle = self.loop.call_at(loop_t, fn, *args)
        return timer

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> AsyncioTimer:
        return self.call_at(self.now_ns() + int(delay_ms * NS_PER_MS), fn, *args)

    def sleep_s(self, session_seconds: float) -> float:
        """Wall seconds that pass while the session's clock moves ``session_seconds``."""
        return session_seconds / self.timeline.speed
