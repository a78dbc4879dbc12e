"""The fast replay host: the same orders and fills as the faithful path, at columnar speed.

On the faithful path every quote becomes a formatted real-data string, is delivered after its
latency draw, parsed by the adapter and applied to the QuoteBook one at a time; the engine wakes
only for a quote that changes a top and leaves its symbol crossed (the evaluator's price-gap
prefilter: nothing else can signal) and evaluates once the events due at that instant are done.
So this host:

1. feeds each chunk of quotes to the emulated matcher in one call (orders, acks and fills still
   go through the emulated control and the adapter, as in live trading);
2. computes every quote's delivery time with the emulator's own real-data draws (vectorised,
   runs split where the emulator publishes real data itself, so the random streams stay
   aligned);
3. finds, with a shadow book, the quotes that change a top and leave their symbol crossed; each
   delivery time of one is a window: the clock runs to it, every quote delivered by then is put
   into the QuoteBook in one numpy call, the crossing ones mark their symbols, and the engine's
   batch fires on the clock exactly when the faithful path's would. A batch the engine runs for
   another reason (a symbol eligible again) first brings the book up to its time (``sync_book``).

Searches in sorted times on the main thread use ``bisect`` (the emulated matcher's too), not
``np.searchsorted``: numpy lets go of the interpreter's lock inside it, and with the Parquet
prefetch thread waiting for the lock each call waited ~0.1 ms to get it back (0.35 s of a
replay's ~3,200 searches, 25 ms of it work); ``bisect`` keeps the lock and takes ~2 us.

Timers (emulator latencies, pair timers) run on the same virtual clock in the same order, so the
parity test can demand identical orders and fills. A disconnect fault (quotes dropped or delayed
per row by connection state) is replayed on the faithful path instead.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np

from .. import compiled
from ..arrays import I64, Mask
from ..broker.emulator import fastpath
from ..broker.emulator.control import KiwoomEmulator
from ..clock import VirtualClock
from ..engine.engine import Engine
from ..engine.crossing import symbol_crossed
from ..marketdata.quote_format import iter_quote_batches
from .simulation import DRAIN_LIMIT_NS, HostResult, drain

CHUNK_ROWS = 1 << 18
LOW32 = (1 << 32) - 1
D, SYM, VENUE, BID, ASK, BQ, AQ, CROSSING = range(8)     # the rows of the pending buffer


class _Pending:
    """Quotes fed to the emulator but not yet applied to the engine's book, in delivery order:
    the columns ``head:tail`` of ``buf``, whose rows are the delivery time ``d``, symbol, venue,
    top of book and whether the quote leaves its symbol crossed (rows ``D`` ... ``CROSSING``).
    One buffer, grown or compacted only when a chunk does not fit, so a chunk is
    written in place and a window is a slice."""

    ROWS = 8

    def __init__(self) -> None:
        self.buf: I64 = np.zeros((self.ROWS, 0), dtype=np.int64)
        self.head = 0
        self.tail = 0

    def reserve(self, n: int) -> None:
        """Room for ``n`` more quotes after ``tail``."""
        buf, live = self.buf, self.tail - self.head
        if self.tail + n <= buf.shape[1]:
            return
        if live + n > buf.shape[1]:
            grown: I64 = np.empty((self.ROWS, 2 * (live + n)), dtype=np.int64)
            grown[:, :live] = buf[:, self.head:self.tail]
            self.buf = grown
        elif live:
            buf[:, :live] = buf[:, self.head:self.tail].copy()
        self.head, self.tail = 0, live

    def __len__(self) -> int:
        return self.tail - self.head

    def index_after(self, t: int) -> int:
        """Position of the first pending quote delivered after ``t`` (``d`` is sorted)."""
        return self.head + int(self.buf[D, self.head:self.tail].searchsorted(t, side="right"))


class FastReplay:
    def __init__(self, clock: VirtualClock, emulator: KiwoomEmulator, engine: Engine, path: Path,
                 codes: tuple[str, ...], *, until_ns: int | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> None:
        self.clock = clock
        self.emu = emulator
        self.engine = engine
        self.path = path
        self.codes = codes
        self.until_ns = until_ns if until_ns is not None else 1 << 62
        self.on_progress = on_progress
        self.interrupted = False
        n = len(codes)
        # the state after every quote handed over so far (for crossing flags), packed as
        # (bid << 32 | ask) and (bid_qty << 32 | ask_qty) per venue and symbol
        self.n_syms = n
        self.shadow_px = np.zeros((2, n), dtype=np.int64)
        self.shadow_sz = np.zeros((2, n), dtype=np.int64)
        self.pending = _Pending()
        self.small = 2 * n < 1 << 16
        self._jit = compiled.load("kxrules.runtime.shadow_jit")
        self.breaks = fastpath.real_data_breaks(emulator)
        self.windows: deque[int] = deque()    # delivery times of crossing quotes still to apply (ascending)
        self.rows = 0
        engine.sync_book = self._sync

    def interrupt(self) -> None:
        self.interrupted = True

    # -- main loop ------------------------------------------------------------------------
    def replay(self) -> HostResult:
        last = self.clock.now_ns()
        for batch in iter_quote_batches(self.path, batch_rows=CHUNK_ROWS, codes=self.codes, read_ahead=True):
            ts = batch.ts_ns
            cut = len(ts) if ts[-1] <= self.until_ns else bisect_right(ts, self.until_ns)
            cols: tuple[I64, ...] = (ts, batch.code_idx, batch.venue_idx, batch.bid, batch.ask,
                                     batch.bid_qty, batch.ask_qty)
            if cut < len(ts):
                cols = tuple(c[:cut] for c in cols)
            self._feed(*cols)
            if len(cols[0]):
                last = int(cols[0][-1])
            if self.interrupted:
                return HostResult(self.rows, last, "interrupt")
            if cut < len(ts):
                self.process_until(self.until_ns)
                return HostResult(self.rows, self.until_ns, "until")
            if self.on_progress:
                self.on_progress(self.rows, last)
        self.flush()
        return HostResult(self.rows, last, "end_of_data")

    def _feed(self, ts: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> None:
        n = len(ts)
        lo = 0
        while lo < n:
            # a run ends where the emulator publishes real data itself (its draws interleave)
            nxt = bisect_right(self.breaks, ts[lo])
            hi = n if nxt >= len(self.breaks) else bisect_left(ts, self.breaks[nxt], lo)
            self._run(ts[lo:hi], sym[lo:hi], venue[lo:hi], bid[lo:hi], ask[lo:hi], bq[lo:hi], aq[lo:hi])
            lo = hi

    def _run(self, ts: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> None:
        self.process_until(int(ts[0]))
        if not fastpath.ready(self.emu):
            self._faithful(ts, sym, venue, bid, ask, bq, aq)
            return
        self.emu.feed_quote_batch(sym, venue, bid, ask, bq, aq, ts)
        d = fastpath.delivery_times(self.emu, ts)
        p = self.pending
        p.reserve(len(ts))
        start = p.tail
        if self._jit is not None:
            p.tail, hot = self._jit.shadow_pending(self.shadow_px, self.shadow_sz, sym, venue, bid, ask, bq, aq,
                                                   d, p.buf, start)
        else:
            hot = self._shadow_pending(sym, venue, bid, ask, bq, aq, d)
        new = p.buf[:, start:p.tail]
        if hot:
            times = np.unique(new[D][new[CROSSING] != 0])
            if self.windows and times[0] == self.windows[-1]:
                times = times[1:]
            self.windows.extend(times.tolist())
        if self.engine.record_quotes:       # copies: the buffer is reused
            self.engine.recorder.quotes(*new[:CROSSING].copy())
        self.rows += len(ts)
        self.engine.stats["quotes"] += len(ts)

    def _shadow_pending(self, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64, d: I64) -> int:
        """``shadow_jit.shadow_pending`` in numpy: append the quotes that changed a top."""
        changed, crossed = self._shadow(sym, venue, bid, ask, bq, aq)
        p = self.pending
        n = int(np.count_nonzero(changed))
        out = p.buf[:, p.tail:p.tail + n]
        for row, col in ((D, d), (SYM, sym), (VENUE, venue), (BID, bid), (ASK, ask), (BQ, bq), (AQ, aq),
                         (CROSSING, crossed)):
            out[row] = col[changed]
        p.tail += n
        return int(np.count_nonzero(out[CROSSING]))

    def _faithful(self, ts: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> None:
        """Per-row feeding while the control is not ready (before login and registration)."""
        self.flush()
        clock, feed = self.clock, self.emu.feed_quote
        for t, s, v, b, a, q1, q2 in zip(ts.tolist(), sym.tolist(), venue.tolist(), bid.tolist(),
                                         ask.tolist(), bq.tolist(), aq.tolist()):
            clock.run_until(t)
            feed(s, v, b, a, q1, q2, t)
            self.rows += 1
        # the shadow follows what was fed; the engine's book gets it as the deliveries land
        flat = venue * self.n_syms + sym
        self.shadow_px.reshape(-1)[flat] = (bid << 32) | ask
        self.shadow_sz.reshape(-1)[flat] = (bq << 32) | aq

    # -- crossing flags ---------------------------------------------------------------------
    def _shadow(self, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> tuple[Mask, Mask]:
        """Per quote: did it change its venue's top, and is its symbol crossed right after it?
        (What ``shadow_jit.shadow_pending`` computes in its walk, for where numba is not installed.)

        One radix sort groups the quotes by symbol (time order kept); a forward fill per venue
        gives, for every row, the latest quote of each venue so far. Bid and ask (and the two
        sizes) are packed into one int64 each, which is exact below 2**31 and halves the work.
        """
        n = len(sym)
        order = np.argsort(sym.astype(np.uint16) if self.small else sym, kind="stable")
        s = sym[order]
        v = venue[order]
        px = (bid[order] << 32) | ask[order]                 # packed (bid, ask)
        sz = (bq[order] << 32) | aq[order]                   # packed (bid_qty, ask_qty)
        pos = np.arange(n)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        gstart = np.repeat(starts, np.diff(np.r_[starts, n]))
        shadow_px, shadow_sz = self.shadow_px, self.shadow_sz
        latest, before = [], []
        for vi in (0, 1):
            last = np.maximum.accumulate(np.where(v == vi, pos, -1))     # latest row of venue vi
            ok = last >= gstart
            fallback = shadow_px[vi, s]
            latest.append(np.where(ok, px[np.maximum(last, 0)], fallback))
            prev = np.r_[-1, last[:-1]]                                  # ... strictly before
            before.append((prev >= gstart, prev))
        # changed: against the previous quote of the same venue (or the shadow)
        same_ok = np.where(v == 0, before[0][0], before[1][0])
        same_prev = np.maximum(np.where(v == 0, before[0][1], before[1][1]), 0)
        flat_key = v * self.n_syms + s
        prev_px = np.where(same_ok, px[same_prev], shadow_px.reshape(-1)[flat_key])
        prev_sz = np.where(same_ok, sz[same_prev], shadow_sz.reshape(-1)[flat_key])
        changed = np.empty(n, dtype=bool)
        changed[order] = (prev_px != px) | (prev_sz != sz)
        k_px, n_px = latest
        crossed = np.empty(n, dtype=bool)
        crossed[order] = symbol_crossed(k_px >> 32, k_px & LOW32, n_px >> 32, n_px & LOW32)
        # the shadow keeps the last quote per (venue, symbol)
        ends = np.r_[starts[1:], n] - 1
        for vi in (0, 1):
            last = np.maximum.accumulate(np.where(v == vi, pos, -1))[ends]
            has = last >= starts
            rows, syms = last[has], s[ends][has]
            shadow_px[vi, syms] = px[rows]
            shadow_sz[vi, syms] = sz[rows]
        return changed, crossed

    # -- applying quotes to the engine ------------------------------------------------------
    def _sync(self, now: int) -> bool:
        """Put every quote delivered by ``now`` into the engine's book, marking the symbols the
        crossing ones left crossed (before any batch, and at each window); returns whether any
        was marked."""
        p = self.pending
        if p.head == p.tail or p.buf[D, p.head] > now:
            return False
        book = self.engine.book
        if self._jit is not None:
            p.head, marked = self._jit.deliver(p.buf, p.head, p.tail, now, book.top, book.changed_ns, book.dirty,
                                               book.dirty_since)
        else:
            marked = self._deliver(now)
        if marked:
            book.any_dirty = True
        return bool(marked)

    def _deliver(self, now: int) -> bool:
        """``shadow_jit.deliver`` in numpy."""
        p = self.pending
        lo, hi = p.head, p.index_after(now)
        p.head = hi
        d, sym, venue, bid, ask, bq, aq, crossing = p.buf[:, lo:hi]
        book = self.engine.book
        book.overwrite(sym, venue, bid, ask, bq, aq, d)
        hot = crossing != 0
        if not hot.any():
            return False
        book.touch(sym[hot], d[hot])
        return True

    def process_until(self, t: int) -> None:
        """Deliver every crossing quote due by ``t`` (with what came before it); run the clock to ``t``."""
        clock = self.clock
        while self.windows and self.windows[0] <= t:
            w = self.windows.popleft()
            clock.run_until(w)
            if self._sync(w):                    # else a batch at w took them already
                self.engine.wake()
        clock.run_until(t)

    def flush(self) -> None:
        """Deliver every pending window, then put what is left into the book."""
        p = self.pending
        if self.windows:
            self.process_until(self.windows[-1])
        if len(p):
            last = int(p.buf[D, p.tail - 1])
            self.clock.run_until(max(last, self.clock.now_ns()))
            self._sync(last)

    def drain(self, idle: Callable[[], bool], limit_ns: int = DRAIN_LIMIT_NS) -> bool:
        return drain(self.clock, idle, limit_ns)
