"""The fast replay host: the same orders and fills as the faithful path, at columnar speed.

On the faithful path every quote becomes a formatted real-data string, is delivered after its
latency draw, parsed by the adapter and applied to the QuoteBook one at a time; the engine wakes
only for a quote that changes a top and leaves its symbol crossed (the evaluator's price-gap
prefilter: nothing else can signal) and evaluates once the events due at that instant are done.
So this host:

1. takes the quote file in chunks, each already flagged on the read-ahead thread by the shadow
   book (``shadow``: which rows change a top, which leave their symbol crossed);
2. feeds each chunk to the emulated matcher in one call (orders, acks and fills still go through
   the emulated control and the adapter, as in live trading);
3. computes every quote's delivery time with the emulator's own real-data draws (vectorised,
   runs split where the emulator publishes real data itself, so the random streams stay
   aligned);
4. treats each delivery time of a crossing quote as a window: the clock runs to it, every quote
   delivered by then is put into the QuoteBook in one compiled call (read from the chunk itself:
   no copy), the crossing ones mark their symbols (those the engine's gates leave open: the batch
   would drop any other mark unread, and with no mark there is no batch: 56% of the windows of a
   200-symbol hour), and the engine's batch runs exactly when the faithful path's would. A batch
   the engine runs for another reason (a symbol eligible again) first brings the book up to its
   time (``sync_book``).

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
from ..arrays import I64, U8
from ..broker.emulator import fastpath
from ..broker.emulator.control import KiwoomEmulator
from ..clock import VirtualClock
from ..engine.engine import Engine
from ..engine.gates import Gates
from .shadow import CROSSING, ShadowedChunk, shadowed_chunks
from .simulation import DRAIN_LIMIT_NS, HostResult, drain

CHUNK_ROWS = 1 << 18
NOTHING_DUE = 1 << 63


class _Run:
    """Quotes fed to the emulator in one call and not yet all applied to the engine's book: views
    of the chunk's columns (symbol, venue, top of book), their delivery times ``d`` (ascending)
    and shadow flags, from ``head`` on."""

    __slots__ = ("cols", "d", "flags", "head", "tail")

    def __init__(self, cols: tuple[I64, ...], d: I64, flags: U8) -> None:
        self.cols, self.d, self.flags = cols, d, flags
        self.head, self.tail = 0, len(d)


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
        self.runs: deque[_Run] = deque()      # fed, not yet all in the engine's book (in delivery order)
        self._next_due = NOTHING_DUE          # delivery time of the first quote of ``runs`` (a Python int)
        self._jit = compiled.load("kxrules.runtime.shadow_jit")
        self.breaks = fastpath.real_data_breaks(emulator)
        self.windows: deque[int] = deque()    # delivery times of crossing quotes still to apply (ascending)
        self._all_open = Gates.all_open(len(codes))   # before the engine trades (no execution yet)
        self.rows = 0
        engine.sync_book = self._sync

    def interrupt(self) -> None:
        self.interrupted = True

    def pending(self) -> int:
        """Quotes fed and not yet in the engine's book."""
        return sum(r.tail - r.head for r in self.runs)

    # -- main loop ------------------------------------------------------------------------
    def replay(self) -> HostResult:
        last = self.clock.now_ns()
        for chunk in shadowed_chunks(self.path, self.codes, CHUNK_ROWS):
            ts = chunk.batch.ts_ns
            cut = len(ts) if ts[-1] <= self.until_ns else bisect_right(ts, self.until_ns)
            self._feed(chunk, cut)
            if cut:
                last = int(ts[cut - 1])
            if self.interrupted:
                return HostResult(self.rows, last, "interrupt")
            if cut < len(ts):
                self.process_until(self.until_ns)
                return HostResult(self.rows, self.until_ns, "until")
            if self.on_progress:
                self.on_progress(self.rows, last)
        self.flush()
        return HostResult(self.rows, last, "end_of_data")

    def _feed(self, chunk: ShadowedChunk, n: int) -> None:
        """The chunk's first ``n`` rows, run by run."""
        ts = chunk.batch.ts_ns
        lo = 0
        while lo < n:
            # a run ends where the emulator publishes real data itself (its draws interleave)
            nxt = bisect_right(self.breaks, ts[lo])
            hi = n if nxt >= len(self.breaks) else bisect_left(ts, self.breaks[nxt], lo, n)
            self._run(chunk, lo, hi)
            lo = hi

    def _run(self, chunk: ShadowedChunk, lo: int, hi: int) -> None:
        b = chunk.batch
        ts = b.ts_ns[lo:hi]
        cols = (b.code_idx[lo:hi], b.venue_idx[lo:hi], b.bid[lo:hi], b.ask[lo:hi], b.bid_qty[lo:hi],
                b.ask_qty[lo:hi])
        self.process_until(int(ts[0]))
        if not fastpath.ready(self.emu):
            self._faithful(ts, *cols)
            return
        self.emu.feed_quote_batch(*cols, ts)
        d = fastpath.delivery_times(self.emu, ts)
        flags = chunk.flags[lo:hi]
        self._queue(_Run(cols, d, flags))
        hot = chunk.hot
        h0, h1 = bisect_left(hot, lo), bisect_left(hot, hi)
        if h1 > h0:
            times = np.unique(d[hot[h0:h1] - lo])
            if self.windows and times[0] == self.windows[-1]:
                times = times[1:]
            self.windows.extend(times.tolist())
        if self.engine.record_quotes:           # the quotes that changed a top, as delivered
            changed = np.flatnonzero(flags)
            self.engine.recorder.quotes(d[changed], *(c[changed] for c in cols))
        self.rows += hi - lo
        self.engine.stats["quotes"] += hi - lo

    def _queue(self, run: _Run) -> None:
        if not self.runs:
            self._next_due = int(run.d[0])
        self.runs.append(run)

    def _faithful(self, ts: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> None:
        """Per-row feeding while the control is not ready (before login and registration); the
        engine's book gets these quotes as their deliveries land."""
        self.flush()
        clock, feed = self.clock, self.emu.feed_quote
        for t, s, v, b, a, q1, q2 in zip(ts.tolist(), sym.tolist(), venue.tolist(), bid.tolist(),
                                         ask.tolist(), bq.tolist(), aq.tolist()):
            clock.run_until(t)
            feed(s, v, b, a, q1, q2, t)
            self.rows += 1

    # -- applying quotes to the engine ------------------------------------------------------
    def _sync(self, now: int) -> bool:
        """Put every quote delivered by ``now`` into the engine's book, marking the symbols the
        crossing ones left crossed (before any batch, and at each window); returns whether any
        was marked."""
        if now < self._next_due:
            return False
        runs = self.runs
        gates = self.engine.gates or self._all_open
        if self._jit is None:
            marked = self._deliver(now, gates)
        else:
            book, deliver = self.engine.book, self._jit.deliver
            cooling = self.engine.evaluator.next_eligible_ns
            marked = False
            while runs:
                r = runs[0]
                r.head, hit = deliver(*r.cols, r.d, r.flags, r.head, r.tail, now, *gates, cooling, book.top,
                                      book.changed_ns, book.dirty, book.dirty_since)
                marked = marked or hit
                if r.head < r.tail:
                    break
                runs.popleft()
        self._next_due = int(runs[0].d[runs[0].head]) if runs else NOTHING_DUE
        if marked:
            self.engine.book.any_dirty = True
        return bool(marked)

    def _deliver(self, now: int, gates: Gates) -> bool:
        """``shadow_jit.deliver`` in numpy."""
        book, runs = self.engine.book, self.runs
        cooling = self.engine.evaluator.next_eligible_ns
        marked = False
        while runs:
            r = runs[0]
            end = r.head + int(r.d[r.head:r.tail].searchsorted(now, side="right"))
            flags = r.flags[r.head:end]
            keep = flags != 0
            sym, venue, bid, ask, bq, aq = (c[r.head:end][keep] for c in r.cols)
            d = r.d[r.head:end][keep]
            book.overwrite(sym, venue, bid, ask, bq, aq, d)
            hot = (flags[keep] & CROSSING) != 0
            hot[hot] = gates.eligible()[sym[hot]] & (cooling[sym[hot]] <= now)
            if hot.any():
                book.touch(sym[hot], d[hot])
                marked = True
            r.head = end
            if end < r.tail:
                break
            runs.popleft()
        return marked

    def process_until(self, t: int) -> None:
        """Deliver every crossing quote due by ``t`` (with what came before it); run the clock to ``t``."""
        clock = self.clock
        while self.windows and self.windows[0] <= t:
            w = self.windows.popleft()
            clock.run_until(w)
            if self._sync(w):                    # else a batch at w took them already
                self.engine.run_batch_idle()
        clock.run_until(t)

    def flush(self) -> None:
        """Deliver every pending window, then put what is left into the book."""
        if self.windows:
            self.process_until(self.windows[-1])
        if self.runs:
            last = int(self.runs[-1].d[-1])
            self.clock.run_until(max(last, self.clock.now_ns()))
            self._sync(last)

    def drain(self, idle: Callable[[], bool], limit_ns: int = DRAIN_LIMIT_NS) -> bool:
        return drain(self.clock, idle, limit_ns)
