"""The engine's side of the ops view: what the engine thread does for it, and nothing more.

``FeedTap`` watches the rows the recorder writes (one append per row, no formatting) and
``Capturer.capture()`` copies what the page shows out of the engine's state into an immutable
``EngineCapture`` (sent pickled to the view's process): a few numpy copies, scalars, tuples of the live and recently finished pairs
and the new tail of the event feed. Everything else (dicts, names, costs, formatting, JSON)
happens in the view's process from the capture alone (``snapshot.SnapshotRenderer``), which
never sees the engine.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from ..engine.engine import Engine

FEED_TABLES = frozenset({"signals", "order_events", "fills", "pairs", "alerts", "operator_commands"})
FEED_SHOWN = 120         # feed rows sent to the page
ORDER_EVENT_SHOWN = 7    # an order event's columns the feed shows: all but the raw record
CURVE_POINTS = 600       # the PnL curve's resolution (halved when full)
DONE_SHOWN = 12          # finished pairs in the monitor


class FeedTap:
    """The recorder's ``tap``: keeps the feed's newest rows and each pair's last transition."""

    __slots__ = ("rows", "state_since")

    def __init__(self) -> None:
        self.rows: deque[tuple[str, tuple]] = deque(maxlen=FEED_SHOWN)
        self.state_since: dict[int, int] = {}

    def __call__(self, table: str, row: tuple) -> None:
        if table == "transitions":
            self.state_since[row[1]] = row[0]
        elif table in FEED_TABLES:
            if table == "signals" and row[13]:      # admitted signals show up as their orders
                return
            if table == "order_events":
                row = row[:ORDER_EVENT_SHOWN]       # not the broker's raw record (JSON): never shown
            self.rows.append((table, row))


class OrderSeen(NamedTuple):
    """An order as a feed line names it (fixed when the order is sent)."""
    role: str
    side: str
    venue: str
    qty: int
    price: int
    code: str


# a feed row: (table, the recorded row as the recorder wrote it, an order event's order looked up
# when captured or None); a plain tuple, made for every row captured
FeedEntry = tuple[str, tuple, OrderSeen | None]


class LivePair(NamedTuple):
    pair_id: int
    sym: int
    code: str
    state: str
    qty: int
    buy_venue: int
    sell_venue: int
    entry_filled: int
    hedged: int
    started_ns: int
    state_since_ns: int
    first_fill_ns: int | None


class DonePair(NamedTuple):
    pair_id: int
    code: str
    state: str
    net_krw: int
    ended_ns: int | None


@dataclass(frozen=True, slots=True)
class EngineCapture:
    """The engine at one instant of its clock, copied: the view's thread reads only this.
    Arrays are read-only copies indexed (venue, symbol) or (symbol)."""
    now_ns: int
    # the top bar
    connected: bool
    account: str | None
    server: str | None
    trading_day: bool
    in_window: bool
    window_ns: tuple[int, int]
    venue_open: dict[str, bool | None]
    armed: bool
    operator_disarmed: bool
    killed: str | None
    orders_in_window: int
    capacity: int
    pause_utilisation: float
    max_in_window: int
    paused: bool
    quotes: int
    signals: int
    admitted: int
    junk: int | None
    ended: bool
    result: str | None
    # the symbols
    top: np.ndarray                  # (bid, ask, bid_qty, ask_qty) x venue x symbol
    changed_ns: np.ndarray           # when each venue's top last changed (the quote's receipt); 0: never
    cooling: np.ndarray
    vi: np.ndarray
    muted: np.ndarray                # by the operator
    frozen: np.ndarray | None
    mute_reasons: dict[int, str]     # 거래정지, 관리종목 … (the broker's master data), or the operator's
    # execution (None / empty without one)
    trading: bool                    # the engine has its execution (it trades)
    position: tuple[int, ...]
    realised_krw: int
    pairs_done: int
    live_pairs: tuple[LivePair, ...]
    done: tuple[DonePair, ...]       # newest last
    feed: tuple[FeedEntry, ...]      # newest last
    curve: tuple[tuple[int, int], ...]   # (engine ms, realised KRW) where it changed


def _frozen_copy(a: np.ndarray) -> np.ndarray:
    c = a.copy()
    c.flags.writeable = False
    return c


class Capturer:
    """Runs on the engine's thread only, at the pump's bounded rate."""

    def __init__(self, engine: Engine, tap: FeedTap) -> None:
        self.engine = engine
        self.tap = tap
        self._feed: deque[FeedEntry] = deque(maxlen=FEED_SHOWN)
        self._curve: tuple[tuple[int, int], ...] = ()

    def capture(self, *, ended: bool = False, result: str | None = None) -> EngineCapture:
        engine = self.engine
        now = engine.clock.now_ns()
        guard, throttle, ex, book = engine.guard, engine.throttle, engine.execution, engine.book
        adapter = ex.adapter if ex is not None else None
        junk = getattr(adapter, "dropped_junk", None)
        stats = engine.stats
        if ex is not None:
            self._note_pnl(now, ex.realised_krw)
        cooling = engine.evaluator.next_eligible_ns > now
        cooling.flags.writeable = False
        return EngineCapture(
            now_ns=now, connected=guard.connected, account=getattr(adapter, "account", None),
            server=engine.server, trading_day=guard.trading_day, in_window=guard.in_window(now),
            window_ns=(guard.window_start_ns, guard.window_end_ns), venue_open=dict(guard.venue_open),
            armed=guard.armed(now), operator_disarmed=guard.operator_disarmed, killed=guard.killed,
            orders_in_window=throttle.used(now), capacity=throttle.capacity,
            pause_utilisation=throttle.pause_utilisation, max_in_window=throttle.max_in_window,
            paused=throttle.paused, quotes=stats["quotes"], signals=stats["signals"], admitted=stats["admitted"],
            junk=junk() if callable(junk) else None, ended=ended, result=result,
            top=_frozen_copy(book.top), changed_ns=_frozen_copy(book.changed_ns), cooling=cooling,
            vi=_frozen_copy(guard.vi), muted=_frozen_copy(guard.operator_muted),
            frozen=_frozen_copy(engine.truth.frozen) if engine.truth is not None else None,
            mute_reasons=dict(guard.mute_reasons),
            trading=ex is not None, position=tuple(ex.position) if ex is not None else (),
            realised_krw=ex.realised_krw if ex is not None else 0,
            pairs_done=len(ex.pairs_done) if ex is not None else 0,
            live_pairs=self._live_pairs(), done=self._done(), feed=self._take_feed(), curve=self._curve)

    def _note_pnl(self, now: int, realised: int) -> None:
        curve = self._curve
        if curve and curve[-1][1] == realised:
            return
        curve = (*curve, (now // 1_000_000, realised))
        if len(curve) > CURVE_POINTS:                       # keep the shape, halve the points
            curve = curve[::2]
        self._curve = curve

    def _live_pairs(self) -> tuple[LivePair, ...]:
        ex = self.engine.execution
        if ex is None:
            return ()
        since = self.tap.state_since
        return tuple(LivePair(p.pair_id, p.sym, p.code, p.state, p.qty, p.signal.buy_venue, p.signal.sell_venue,
                              p.entry_filled, p.hedged, p.started_ns, since.get(p.pair_id, p.started_ns),
                              p.first_fill_ns)
                     for pairs in ex.active.values() for p in pairs)

    def _done(self) -> tuple[DonePair, ...]:
        ex = self.engine.execution
        if ex is None:
            return ()
        return tuple(DonePair(p.pair_id, p.code, p.state, p.net_krw, p.ended_ns) for p in ex.pairs_done[-DONE_SHOWN:])

    def _take_feed(self) -> tuple[FeedEntry, ...]:
        """Moves the rows tapped since the last capture into the feed (at most FEED_SHOWN of them:
        the tap keeps no more), naming each order event's order now."""
        rows = self.tap.rows
        if rows:
            ex = self.engine.execution
            orders: dict[str, Any] = ex.orders if ex is not None else {}
            for table, row in rows:
                order = None
                if table == "order_events":
                    rec = orders.get(row[1])
                    if rec is not None:
                        order = OrderSeen(rec.role, rec.side, rec.venue, rec.qty, rec.price, rec.code)
                self._feed.append((table, row, order))
            rows.clear()
        return tuple(self._feed)
