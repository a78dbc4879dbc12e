"""The simulation host: replays quotes into the emulated control on a virtual clock.

This is the stand-in for Qt's event loop: it owns time. Each quote row is delivered at its
timestamp after every timer due before it has fired (engine batches, emulator latencies, pair
timers), so the engine sees one consistent, deterministic timeline. ``--speed N`` paces virtual
time at N× wall time from the first quote on so a person can watch; ``--speed max`` runs as fast as it can. Pacing lives
here, never in the engine. ``interrupt()`` (Ctrl-C, SIGTERM, a recording failure) stops the replay
at the next row; ``hurry()`` (a second Ctrl-C) drops the pacing so the wind-down ends at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..clock import NS_PER_S, VirtualClock
from ..marketdata.quote_format import iter_quote_batches

DRAIN_LIMIT_NS = 120 * NS_PER_S      # after the data ends, let in-flight pairs finish for ≤ 2 min


@dataclass(slots=True)
class HostResult:
    rows: int
    last_ts_ns: int
    stopped_by: str          # "end_of_data" | "until" | "interrupt"


class SimulationHost:
    def __init__(self, clock: VirtualClock, feed: Callable[..., None], path: str | Path, codes: tuple[str, ...], *,
                 speed: float | None = None, until_ns: int | None = None,
                 on_progress: Callable[[int, int], None] | None = None):
        self.clock = clock
        self.feed = feed
        self.path = path
        self.codes = codes
        self.speed = speed
        self.until_ns = until_ns
        self.on_progress = on_progress
        self.interrupted = False
        self.hurried = False
        self._wall0 = 0.0
        self._virt0 = 0

    def interrupt(self) -> None:
        self.interrupted = True

    def hurry(self) -> None:
        self.hurried = True

    def _pace(self, ts: int) -> None:
        if self.hurried or not self.speed:
            return
        target = self._wall0 + (ts - self._virt0) / NS_PER_S / self.speed
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(min(delay, 0.5))

    def replay(self) -> HostResult:
        clock, feed = self.clock, self.feed
        until = self.until_ns if self.until_ns is not None else 1 << 62
        rows = 0
        last = clock.now_ns()
        self._wall0, self._virt0 = time.monotonic(), clock.now_ns()
        for batch in iter_quote_batches(self.path, codes=self.codes):
            cols = (batch.ts_ns.tolist(), batch.code_idx.tolist(), batch.venue_idx.tolist(),
                    batch.bid.tolist(), batch.ask.tolist(), batch.bid_qty.tolist(), batch.ask_qty.tolist())
            for ts, sym, venue, bid, ask, bq, aq in zip(*cols):
                if ts > until:
                    clock.run_until(until)
                    return HostResult(rows, until, "until")
                if self.interrupted:
                    return HostResult(rows, last, "interrupt")
                if self.speed:
                    if rows == 0:       # pace from the first quote: the quiet before it is not watched
                        self._wall0, self._virt0 = time.monotonic(), ts
                    self._pace(ts)
                clock.run_until(ts)
                feed(sym, venue, bid, ask, bq, aq, ts)
                last = ts
                rows += 1
            if self.on_progress:
                self.on_progress(rows, last)
        return HostResult(rows, last, "end_of_data")

    def drain(self, idle: Callable[[], bool], limit_ns: int = DRAIN_LIMIT_NS) -> bool:
        return drain(self.clock, idle, limit_ns, self._pace if self.speed else None)


def drain(clock: VirtualClock, idle: Callable[[], bool], limit_ns: int = DRAIN_LIMIT_NS,
          pace: Callable[[int], None] | None = None) -> bool:
    """After the data: run timers until ``idle()`` or the limit; returns whether it became idle.
    ``pace`` waits for wall time before each timer (replays at a set speed)."""
    deadline = clock.now_ns() + limit_ns
    while not idle():
        nxt = clock.next_due_ns()
        if nxt is None or nxt > deadline:
            clock.run_until(deadline)
            return idle()
        if pace is not None:
            pace(nxt)
        clock.run_until(nxt)
    return True
