"""The emulator behind the gateway, on virtual time, in lockstep with the engine's clock.

Two processes, two virtual clocks, one timeline. The engine asks the gateway to ``advance`` up
to its own next timer; the gateway runs its timers and feeds its market data in time order and
stops at the first instant that produced events (or at the limit), and says where it stopped.
The engine then delivers those events, runs its own timers due at that instant, and asks again.
Nothing on either side happens before the other has caught up, so a split session is as
deterministic as an in-process one. At one instant the engine's timers run before the gateway's
(a tie the in-process clock breaks by scheduling order; with drawn latencies ties do not occur).

The broker state (orders, holdings, cash, the market's clock) lives here, as at the real broker.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..clock import VirtualClock
from .capture import CALLS, ControlCapture


class QuoteFeeder:
    """The replay file as a time-ordered stream of quote rows for ``control.feed_quote``."""

    def __init__(self, batches, feed):
        self._batches = iter(batches)
        self._feed = feed
        self._cols: list[list[int]] | None = None
        self._i = 0
        self.rows = 0
        self.closed = False
        self._load()

    def _load(self) -> None:
        for batch in self._batches:
            if len(batch.ts_ns):
                self._cols = [np.asarray(c).tolist() for c in (batch.ts_ns, batch.code_idx, batch.venue_idx,
                                                                batch.bid, batch.ask, batch.bid_qty, batch.ask_qty)]
                self._i = 0
                return
        self._cols = None

    def next_ts(self) -> int | None:
        if self.closed or self._cols is None:
            return None
        return self._cols[0][self._i]

    def feed_at(self, ts: int) -> None:
        """Feed every row stamped ``ts``."""
        while not self.closed and self._cols is not None and self._cols[0][self._i] == ts:
            c, i = self._cols, self._i
            self._feed(c[1][i], c[2][i], c[3][i], c[4][i], c[5][i], c[6][i], ts)
            self.rows += 1
            self._i += 1
            if self._i == len(c[0]):
                self._load()

    def close(self) -> None:
        self.closed = True


class LockstepGateway:
    """The gateway's side: a control on a virtual clock and a quote feeder, served frame by frame."""

    def __init__(self, control: Any, clock: VirtualClock, feeder: QuoteFeeder, info: dict):
        self.control = control
        self.clock = clock
        self.feeder = feeder
        self.info = info
        self.outbox: list[list] = []
        ControlCapture(control, self.outbox.append)

    def handle(self, frame: dict) -> list[dict]:
        """The replies to one frame from the engine (events first, then the answer)."""
        kind = frame.get("t")
        if kind == "call":
            method = frame.get("m")
            if method not in CALLS:
                return [{"t": "ret", "id": frame.get("id"), "error": f"{method!r} is not served"}]
            result = getattr(self.control, method)(*frame.get("a", ()))
            return self._flush() + [{"t": "ret", "id": frame["id"], "r": result}]
        if kind == "advance":
            return [self.advance(frame["until"])]
        if kind == "info":
            return [{"t": "info", **self.info, "now": self.clock.now_ns()}]
        if kind == "stop_feed":
            self.feeder.close()
            return [{"t": "ok"}]
        return [{"t": "error", "error": f"unknown frame {kind!r}"}]

    def _flush(self) -> list[dict]:
        if not self.outbox:
            return []
        events, self.outbox[:] = list(self.outbox), []
        return [{"t": "events", "now": self.clock.now_ns(), "ev": events}]

    def advance(self, until: int | None) -> dict:
        """Run timers and feed rows strictly before ``until`` (None: no limit); stop at the first
        instant that produced events, or when nothing is left. Timers go before rows at one
        instant, as the in-process replay does."""
        clock, feeder, outbox = self.clock, self.feeder, self.outbox
        while not outbox:
            t_timer, t_feed = clock.next_due_ns(), feeder.next_ts()
            due = [t for t in (t_timer, t_feed) if t is not None]
            nxt = min(due) if due else None
            if nxt is None or (until is not None and nxt >= until):
                if until is not None:
                    clock.skip_to(until)
                break
            clock.run_until(nxt)
            if t_timer != nxt:
                feeder.feed_at(nxt)
                if feeder.next_ts() is None:
                    break                   # the data ended: the engine winds down from here
        events, outbox[:] = list(outbox), []
        t_timer, t_feed = clock.next_due_ns(), feeder.next_ts()
        return {"t": "events", "now": clock.now_ns(), "ev": events, "next_timer": t_timer,
                "next_feed": t_feed}
