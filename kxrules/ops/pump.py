"""The engine's side of the ops view: a timer on the engine's own clock, so every host's loop
(the virtual-clock replay, the fast replay, Qt's loop, the REST host) runs it like any other
timer. Each tick hands the commands the view's process sent to the engine and, at most every
``PUBLISH_EVERY_S`` of wall time (or right after a command), sends it a capture of the engine
(``capture.py``: copies, no formatting) over the link (``link.py``: never blocks); the view's
process renders it when a viewer asks.

The tick's period adapts to how fast the engine's clock runs against wall time: about
``TICK_WALL_S`` of wall time, never less than ``MIN_TICK_MS`` nor more than ``MAX_TICK_MS`` of
engine time; so live and ``--speed N`` poll often, and a ``--speed max`` replay pays a few dozen
ticks per second of wall time, not one per 100 ms of its day.
"""
from __future__ import annotations

import time
from typing import Callable

from ..engine.controls import OperatorControls
from .capture import Capturer
from .link import EngineLink

TICK_WALL_S = 0.02
MIN_TICK_MS = 100
MAX_TICK_MS = 60_000
PUBLISH_EVERY_S = 0.2        # ≤ 5 captures per second of wall time


class OpsPump:
    def __init__(self, engine, link: EngineLink, capturer: Capturer, controls: OperatorControls, *,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self.clock = engine.clock
        self.link = link
        self.capturer = capturer
        self.controls = controls
        self.wall = wall
        self._timer = None
        self._published = float("-inf")
        self._last = (0, 0.0)        # (engine ns, wall s) at the last tick
        # what the view costs the engine's thread: the wall time inside the ticks (commands
        # applied, captures taken) and how many; measured here, never used to decide anything
        self.engine_ns = 0
        self.ticks = 0
        self.captures = 0
        self.started_ns = 0          # perf_counter_ns at start() and stop(): the span measured
        self.stopped_ns = 0

    def start(self) -> None:
        self.started_ns = time.perf_counter_ns()
        self._last = (self.clock.now_ns(), self.wall())
        self._tick()

    def _tick(self) -> None:
        t0 = time.perf_counter_ns()
        commands = self.link.take_commands()
        for cmd in commands:
            self.controls.apply(cmd)
        wall, now = self.wall(), self.clock.now_ns()
        if commands or wall - self._published >= PUBLISH_EVERY_S:
            self.link.publish(self.capturer.capture())
            self.captures += 1
            self._published = wall
        last_ns, last_wall = self._last
        rate = (now - last_ns) / 1e6 / max(wall - last_wall, 1e-3)     # engine ms per wall second
        self._last = (now, wall)
        period = min(max(rate * TICK_WALL_S, MIN_TICK_MS), MAX_TICK_MS)
        self._timer = self.clock.call_later(period, self._tick)
        self.ticks += 1
        self.engine_ns += time.perf_counter_ns() - t0

    def stop(self, result: str | None = None) -> None:
        """The session is over: apply what is still queued, publish the last capture."""
        t0 = time.perf_counter_ns()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for cmd in self.link.take_commands():
            self.controls.apply(cmd)
        self.link.publish(self.capturer.capture(ended=True, result=result))
        self.captures += 1
        self.stopped_ns = time.perf_counter_ns()
        self.engine_ns += self.stopped_ns - t0
