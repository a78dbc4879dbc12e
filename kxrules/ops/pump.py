"""The engine's side of the ops view: a timer on the engine's own clock, so every host's loop
(the virtual-clock replay, the fast replay, Qt's loop, the REST host) runs it like any other
timer. Each tick hands the queued commands to the engine and, at most every
``PUBLISH_EVERY_S`` of wall time (or right after a command), publishes a snapshot.

The tick's period adapts to how fast the engine's clock runs against wall time: about
``TICK_WALL_S`` of wall time, never less than ``MIN_TICK_MS`` nor more than ``MAX_TICK_MS`` of
engine time; so live and ``--speed N`` poll often, and a ``--speed max`` replay pays a few dozen
ticks per second of wall time, not one per 100 ms of its day.
"""
from __future__ import annotations

import queue
import time
from typing import Callable

from ..engine.controls import Command, OperatorControls
from .snapshot import SnapshotBuilder

TICK_WALL_S = 0.02
MIN_TICK_MS = 100
MAX_TICK_MS = 60_000
PUBLISH_EVERY_S = 0.2        # ≤ 5 snapshots per second of wall time


class Board:
    """What crosses threads: the latest snapshot (bytes, replaced whole: a reference assignment)
    and the commands the web thread queued. The engine never waits on either."""

    def __init__(self) -> None:
        self._latest: tuple[int, bytes] = (0, b"{}")
        self.commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.viewers = 0             # open live streams (written by the web thread)
        self.closed = False

    def publish(self, data: bytes) -> None:
        self._latest = (self._latest[0] + 1, data)

    def latest(self) -> tuple[int, bytes]:
        return self._latest

    def submit(self, cmd: Command) -> None:
        self.commands.put(cmd)

    def take_commands(self) -> list[Command]:
        taken = []
        while True:
            try:
                taken.append(self.commands.get_nowait())
            except queue.Empty:
                return taken


class OpsPump:
    def __init__(self, engine, board: Board, builder: SnapshotBuilder, controls: OperatorControls, *,
                 wall: Callable[[], float] = time.monotonic) -> None:
        self.clock = engine.clock
        self.board = board
        self.builder = builder
        self.controls = controls
        self.wall = wall
        self._timer = None
        self._published = float("-inf")
        self._last = (0, 0.0)        # (engine ns, wall s) at the last tick

    def start(self) -> None:
        self._last = (self.clock.now_ns(), self.wall())
        self._tick()

    def _tick(self) -> None:
        commands = self.board.take_commands()
        for cmd in commands:
            self.controls.apply(cmd)
        wall, now = self.wall(), self.clock.now_ns()
        if commands or wall - self._published >= PUBLISH_EVERY_S:
            self.board.publish(self.builder.build())
            self._published = wall
        last_ns, last_wall = self._last
        rate = (now - last_ns) / 1e6 / max(wall - last_wall, 1e-3)     # engine ms per wall second
        self._last = (now, wall)
        period = min(max(rate * TICK_WALL_S, MIN_TICK_MS), MAX_TICK_MS)
        self._timer = self.clock.call_later(period, self._tick)

    def stop(self, result: str | None = None) -> None:
        """The session is over: apply what is still queued, publish the last snapshot."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for cmd in self.board.take_commands():
            self.controls.apply(cmd)
        self.builder.ended = True
        self.builder.result = result
        self.board.publish(self.builder.build())
