"""The venue matching model over the replayed top of book (one book per symbol and venue).

- A marketable order, when it reaches the matcher (after the declared latency), takes the venue's
  displayed top at the displayed price, subject to the declared fill odds, and consumes the
  displayed size until the next quote update for that book (two orders cannot take the same
  liquidity; a partial fill or a miss means the rest of that size vanished).
- IOC remainders are cancelled at once. A market order's remainder rests and takes later tops.
- A resting limit fills at its own price when the opposite displayed quote reaches it, up to the
  displayed size. NXT midpoint orders rest at the (moving) mid ``(bid + ask) // 2`` and fill with
  intensity ``mid_fill_rate_per_s`` on quote updates of a two-sided, uncrossed book. The mid is
  off the tick grid: a one-tick spread prints at the half tick, as a recorded 중간가 print does
  (313,750 inside 313,500 / 314,000); half a won, which no price has, rounds down.
- Session steps switch matching on/off per venue. Orders rest while matching is off: KRX's are
  held through the 15:20-15:30 closing auction, whose end (``closing_auction``) matches each
  resting order once against the book as it stands, at the order's own limit (no auction price is
  modelled: a conservative fill); NXT's stay live after 15:20 and match again in the after-market.
  A step with ``expire_resting`` (KRX 15:30, NXT 20:00) then cancels what still rests (reported
  like an IOC remainder).
- A cancel takes its quantity off the remainder (all of it when it asks for more, or for 0); the
  order rests on with what is left.
- While a VI is active on a symbol, nothing matches on either venue; IOCs arriving then are
  cancelled, other orders rest and are matched when the VI ends.

Quotes come one by one (``quote``) or as numpy batches (``push_batch``) that are queued and
applied lazily in time order, interleaved with exchange events (events at time t go before
quotes stamped t). Both paths run the same per-quote code for books with resting orders and
draw from the same generator in the same order, so matching results are identical.
"""
from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kxrules import compiled
from kxrules.clock import Clock
from ...market import IOC_STYLES
from .config import FillOdds

# exchange semantics: these take the top whatever its price (a midpoint order is priced by
# _mid_draw; whether a style is *sent* with price 0 is the venue map's price_zero)
TAKES_ANY_PRICE = frozenset({"market", "ioc_market"})
BOOK_ROWS = 6        # bid, ask, bid_qty, ask_qty, bid_avail, ask_avail per (symbol, venue) key


@dataclass(slots=True, eq=False)
class EmuOrder:
    """One order (or cancel order) at the emulated broker."""

    order_no: int
    rqname: str
    screen: str
    venue: str
    vidx: int
    sym: int
    code: str
    side: str
    qty: int
    price: int
    style: str
    leaves: int
    created_ns: int = 0
    cum_qty: int = 0
    cum_amount: int = 0
    fee_cum: int = 0
    tax_cum: int = 0
    status: str = "new"  # new | resting | done
    is_cancel: bool = False
    orig: "EmuOrder | None" = None
    arrive_ns: int = 0
    mid_check_ns: int = 0
    reserved_cash: int = 0
    est_price: int = 0
    last_chejan_ns: int = 0
    exchange_reject: bool = False

    @property
    def key(self) -> int:
        return self.sym * 2 + self.vidx


class ExchangeSink(Protocol):
    def on_fill(self, o: EmuOrder, price: int, qty: int, t: int) -> None: ...

    def on_expire(self, o: EmuOrder, qty: int, t: int) -> None: ...

    def on_cancel_done(self, c: EmuOrder, orig: EmuOrder, qty: int, t: int) -> None: ...

    def on_cancel_failed(self, c: EmuOrder, t: int) -> None: ...

    def on_reject(self, o: EmuOrder, reason: str, t: int) -> None: ...


class Exchange:
    def __init__(self, n_syms: int, clock: Clock, odds: FillOdds, rng: np.random.Generator,
                 sink: ExchangeSink):
        n = n_syms * 2
        self.clock = clock
        self.odds = odds
        self.rng = rng
        self.sink = sink
        # numpy books: queued quotes land with one fancy assignment per column (last one wins)
        # one block, so the compiled pass takes the books as one argument; key = sym * 2 + venue
        self.books = np.zeros((BOOK_ROWS, n), dtype=np.int64)
        self.bid, self.ask, self.bq, self.aq, self.bid_avail, self.ask_avail = self.books
        self._no_books = np.zeros(n, dtype=np.bool_)
        self.open = [False, False]
        self.vi: set[int] = set()
        self.resting: dict[int, list[EmuOrder]] = {}
        self._resting_keys: tuple[int, ...] = ()          # _resting_books' last answer, and its keys
        self._resting_flags = np.zeros(n, dtype=np.bool_)
        self._heap: list[tuple[int, int, str, Any]] = []  # (time, seq, kind, payload)
        self._seq = itertools.count()
        self._wakes: set[int] = set()
        # queued quotes: the pushed batches as they came (ts, sym, venue, bid, ask, bid_qty,
        # ask_qty; no copy), in time order; ``_head`` is the first row of the first not yet applied
        self._q: deque[tuple[np.ndarray, ...]] = deque()
        self._head = 0
        self._advancing = False
        self._jit = compiled.load("kxrules.broker.emulator.queue_jit")
        self._rows_out = np.empty(0, dtype=np.int64)

    # --- inputs ---
    def quote(self, sym: int, vidx: int, bid: int, ask: int, bq: int, aq: int, ts: int) -> None:
        self.advance(ts)
        self._advancing = True
        try:
            self._apply(sym * 2 + vidx, bid, ask, bq, aq, ts)
        finally:
            self._advancing = False

    def push_batch(self, sym: np.ndarray, vidx: np.ndarray, bid: np.ndarray, ask: np.ndarray,
                   bq: np.ndarray, aq: np.ndarray, ts: np.ndarray) -> None:
        batch = tuple(np.asarray(c, dtype=np.int64) for c in (ts, sym, vidx, bid, ask, bq, aq))
        n = len(ts)
        if any(len(c) != n for c in batch):
            raise ValueError("feed_quote_batch arrays differ in length")
        if n:
            q = self._q
            t = batch[0]
            if (q and q[-1][0][-1] > t[0]) or np.any(t[1:] < t[:-1]):
                # out of time order: merge what is queued with the batch, stably by time
                live = [tuple(c[self._head:] for c in b) if i == 0 else b for i, b in enumerate(q)]
                merged = [np.concatenate([b[j] for b in live] + [batch[j]]) for j in range(7)]
                order = np.argsort(merged[0], kind="stable")
                batch = tuple(m[order] for m in merged)
                q.clear()
                self._head = 0
            q.append(batch)
        self.advance(self.clock.now_ns())

    def submit(self, o: EmuOrder, t_arrive: int) -> None:
        self._push(t_arrive, "arrive", o)

    def cancel(self, c: EmuOrder, t_arrive: int) -> None:
        self._push(t_arrive, "cancel", c)

    def venue_step(self, t: int, vidx: int, matching: bool, expire: bool, auction: bool = False) -> None:
        self._push(t, "venue", (vidx, matching, expire, auction))

    def vi_step(self, t: int, sym: int, active: bool) -> None:
        self._push(t, "vi", (sym, active))

    def top(self, sym: int, vidx: int) -> tuple[int, int]:
        """(bid, ask) now (queued quotes up to now are applied first)."""
        if not self._advancing:
            self.advance(self.clock.now_ns())
        k = sym * 2 + vidx
        return int(self.bid[k]), int(self.ask[k])

    # --- time ---
    def _push(self, t: int, kind: str, payload: Any) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), kind, payload))
        self._wake_at(t)

    def _wake_at(self, t: int) -> None:
        if t not in self._wakes:
            self._wakes.add(t)
            self.clock.call_at(t, self._on_wake, t)

    def _on_wake(self, t: int) -> None:
        self._wakes.discard(t)
        self.advance(self.clock.now_ns())

    def advance(self, t: int) -> None:
        if self._advancing:
            return
        self._advancing = True
        try:
            self._advance(t)
        finally:
            self._advancing = False

    def _advance(self, t: int) -> None:
        heap = self._heap
        while heap and heap[0][0] <= t:
            te = heap[0][0]
            self._apply_pending(te)
            _, _, kind, payload = heapq.heappop(heap)
            if kind == "arrive":
                self._arrive(payload, te)
            elif kind == "cancel":
                self._cancel(payload, te)
            elif kind == "venue":
                vidx, matching, expire, auction = payload
                self._venue(vidx, matching, expire, auction, te)
            else:
                sym, active = payload
                self._vi(sym, active, te)
        self._apply_pending(t + 1)
        self._schedule_quote_wake()

    def _apply_pending(self, upper: int) -> None:
        """Apply queued quotes stamped before ``upper``: first, one by one, those of books with
        resting orders (they may match), then the rest in bulk."""
        q = self._q
        if not q or q[0][0][self._head] >= upper:          # nothing queued before ``upper`` (most wakes)
            return
        if not self.resting and self._jit is not None:      # nothing can match: one compiled call per batch
            while q:
                end = int(self._jit.apply_until(*q[0], self._head, upper, self.books))
                if end < len(q[0][0]):
                    self._head = end
                    return
                q.popleft()
                self._head = 0
            return
        skip = self._resting_books() if self.resting else self._no_books
        # (batch, from, to, the rows for books with resting orders: applied one by one, first)
        due: list[tuple[tuple[np.ndarray, ...], int, int, list[int]]] = []
        head = self._head
        for batch in q:
            ts, sym, vidx = batch[0], batch[1], batch[2]
            if self._jit is not None:
                out = self._rows_buffer(len(ts))
                end, k = self._jit.resting_rows(ts, sym, vidx, head, upper, skip, out)
                rows = out[:k].tolist()
            else:
                end = len(ts) if ts[-1] < upper else bisect_left(ts, upper, head)   # keeps the GIL (runtime/fast.py)
                rows = (head + np.flatnonzero(skip[sym[head:end] * 2 + vidx[head:end]])).tolist() \
                    if self.resting else []
            if end == head:
                break
            due.append((batch, head, end, rows))
            if end < len(ts):
                break
            head = 0
        if not due:
            return
        whole = len(due) if due[-1][2] == len(due[-1][0][0]) else len(due) - 1
        for _ in range(whole):
            q.popleft()
        self._head = 0 if whole == len(due) else due[-1][2]
        for (ts, sym, vidx, bid, ask, bq, aq), _, _, rows in due:
            for j in rows:
                self._apply(int(sym[j]) * 2 + int(vidx[j]), int(bid[j]), int(ask[j]), int(bq[j]), int(aq[j]),
                            int(ts[j]))
        for (_, sym, vidx, bid, ask, bq, aq), lo, hi, _ in due:
            if self._jit is not None:
                self._jit.apply_queued(sym, vidx, bid, ask, bq, aq, lo, hi, skip, self.books)
                continue
            keys = sym[lo:hi] * 2 + vidx[lo:hi]
            keep = ~skip[keys]
            k = keys[keep]
            for row, col in ((0, bid), (1, ask), (2, bq), (3, aq), (4, bq), (5, aq)):
                self.books[row, k] = col[lo:hi][keep]

    def _rows_buffer(self, n: int) -> np.ndarray:
        """Room for ``n`` row positions (reused: read before the next call)."""
        if len(self._rows_out) < n:
            self._rows_out = np.empty(max(n, 2 * len(self._rows_out)), dtype=np.int64)
        return self._rows_out

    def _resting_books(self) -> np.ndarray:
        """Flags of the books with resting orders (read only: kept while the books stay the same,
        which they do across most of the wakes that ask)."""
        keys = tuple(self.resting)
        if keys != self._resting_keys:
            flags = np.zeros(len(self.bid), dtype=np.bool_)
            flags[list(keys)] = True
            self._resting_keys, self._resting_flags = keys, flags
        return self._resting_flags

    def _schedule_quote_wake(self) -> None:
        """With resting orders, wake at the next queued quote that touches one of their books."""
        if not self.resting or not self._q:
            return
        wanted = self._resting_books()
        head = self._head
        for ts, sym, vidx, *_ in self._q:
            if self._jit is not None:
                i = int(self._jit.next_touching(sym, vidx, head, wanted))
            else:
                hit = wanted[sym[head:] * 2 + vidx[head:]]
                i = head + int(np.argmax(hit)) if hit.any() else -1
            if i >= 0:
                self._wake_at(int(ts[i]))
                return
            head = 0

    # --- matching ---
    def _apply(self, k: int, bid: int, ask: int, bq: int, aq: int, ts: int) -> None:
        self.bid[k], self.ask[k] = bid, ask
        self.bq[k] = self.bid_avail[k] = bq
        self.aq[k] = self.ask_avail[k] = aq
        if k in self.resting:
            self._match_resting(k, ts)

    def _can_match(self, k: int) -> bool:
        return self.open[k & 1] and (k >> 1) not in self.vi

    def _match_resting(self, k: int, t: int) -> None:
        if not self._can_match(k):
            return
        lst = self.resting[k]
        for o in tuple(lst):
            if o.leaves <= 0:
                continue
            buy = o.side == "buy"
            top = int(self.ask[k] if buy else self.bid[k])
            avail = int(self.ask_avail[k] if buy else self.bid_avail[k])
            if o.style == "mid":
                px = self._mid_draw(o, k, t)
                if px <= 0:
                    continue
            elif top <= 0 or avail <= 0:
                continue
            elif o.style in TAKES_ANY_PRICE:
                px = top
            elif (buy and top <= o.price) or (not buy and top >= o.price):
                px = o.price
            else:
                continue
            q = min(o.leaves, avail)
            if q <= 0:
                continue
            if buy:
                self.ask_avail[k] -= q
            else:
                self.bid_avail[k] -= q
            self._fill(o, px, q, t)
        lst[:] = [o for o in lst if o.leaves > 0]
        if not lst:
            del self.resting[k]

    def _mid_draw(self, o: EmuOrder, k: int, t: int) -> int:
        bid, ask = int(self.bid[k]), int(self.ask[k])
        dt = t - o.mid_check_ns
        o.mid_check_ns = t
        rate = self.odds.mid_fill_rate_per_s
        if bid <= 0 or ask <= bid or dt <= 0 or rate <= 0:
            return 0
        p = 1.0 - math.exp(-rate * dt / 1e9)
        if self.rng.random() >= p:
            return 0
        return (bid + ask) // 2

    def _fill(self, o: EmuOrder, px: int, q: int, t: int) -> None:
        o.leaves -= q
        o.cum_qty += q
        o.cum_amount += px * q
        if o.leaves == 0:
            o.status = "done"
        self.sink.on_fill(o, px, q, t)

    def _take(self, o: EmuOrder, k: int, t: int) -> None:
        buy = o.side == "buy"
        top = int(self.ask[k] if buy else self.bid[k])
        avail = int(self.ask_avail[k] if buy else self.bid_avail[k])
        if top <= 0 or avail <= 0:
            return
        if o.style not in TAKES_ANY_PRICE and ((buy and top > o.price) or
                                             (not buy and top < o.price)):
            return
        m = min(o.leaves, avail)
        u = self.rng.random()
        if u < self.odds.take_full:
            q = m
        elif u < self.odds.take_full + self.odds.take_partial:
            q = int(m * self.rng.uniform(0.2, 0.8))
        else:
            q = 0
        if buy:
            self.ask_avail[k] -= m  # what was not taken vanished
        else:
            self.bid_avail[k] -= m
        if q > 0:
            self._fill(o, top, q, t)

    def _rest(self, o: EmuOrder) -> None:
        o.status = "resting"
        self.resting.setdefault(o.key, []).append(o)

    def _expire(self, o: EmuOrder, t: int) -> None:
        q = o.leaves
        o.leaves = 0
        o.status = "done"
        self.sink.on_expire(o, q, t)

    def _arrive(self, o: EmuOrder, t: int) -> None:
        o.arrive_ns = o.mid_check_ns = t
        if o.exchange_reject:
            o.status = "done"
            self.sink.on_reject(o, "[EM0007] 모의투자 거래소 거부 (emulated fault)", t)
            return
        if not self.open[o.vidx]:
            o.status = "done"
            self.sink.on_reject(o, "[00Z218] 모의투자 장종료 상태입니다", t)
            return
        k = o.key
        if self._can_match(k) and o.style != "mid":
            self._take(o, k, t)
        if o.leaves <= 0:
            return
        if o.style in IOC_STYLES:
            self._expire(o, t)
        else:
            self._rest(o)

    def _cancel(self, c: EmuOrder, t: int) -> None:
        orig = c.orig
        assert orig is not None
        if orig.status == "resting" and orig.leaves > 0:
            q = orig.leaves if c.qty <= 0 else min(c.qty, orig.leaves)
            orig.leaves -= q
            if orig.leaves == 0:
                orig.status = "done"
                lst = self.resting.get(orig.key, [])
                if orig in lst:
                    lst.remove(orig)
                    if not lst:
                        del self.resting[orig.key]
            self.sink.on_cancel_done(c, orig, q, t)
        else:
            self.sink.on_cancel_failed(c, t)

    def _venue(self, vidx: int, matching: bool, expire: bool, auction: bool, t: int) -> None:
        keys = sorted(k for k in self.resting if k & 1 == vidx)
        if auction:                      # the call auction's end: one pass over the book as it stands
            self.open[vidx] = True
            for k in keys:
                self._match_resting(k, t)
            keys = sorted(k for k in self.resting if k & 1 == vidx)
        self.open[vidx] = matching
        if expire:
            for k in keys:
                for o in self.resting.pop(k):
                    self._expire(o, t)
        elif matching:
            for k in keys:
                self._match_resting(k, t)

    def _vi(self, sym: int, active: bool, t: int) -> None:
        if active:
            self.vi.add(sym)
            return
        self.vi.discard(sym)
        for k in (sym * 2, sym * 2 + 1):
            if k in self.resting:
                self._match_resting(k, t)
