"""Top of book for every symbol on both venues, as int64 numpy arrays, with a dirty mask.

The dirty mask names the symbols a batch must look at. A quote marks its symbol dirty only when it
changes a best price or size *and* leaves the two venues crossed (``engine/crossing.py``): an
uncrossed book cannot signal, so the engine wakes only for a book that can. ``touch`` marks
symbols that became eligible again. Scalar updates serve the faithful path (one parsed real-data
event at a time); the fast replay overwrites tops in bulk and marks the quotes its shadow book found
crossing (``overwrite`` + ``touch``); ``update_batch`` (every changed symbol dirty) serves the
decision benchmark and the evaluator tests.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np

from .crossing import symbol_crossed


class QuoteBook:
    __slots__ = ("n", "top", "bid", "ask", "bid_qty", "ask_qty", "changed_ns", "dirty", "dirty_since", "any_dirty",
                 "_flat", "_compiled_apply", "_compiled_overwrite")

    def __init__(self, n_symbols: int):
        self.n = n_symbols
        # one (4, venue, symbol) block so the compiled kernels take the whole book as one argument;
        # bid, ask, bid_qty and ask_qty are its (venue, symbol) planes
        self.top = np.zeros((4, 2, n_symbols), dtype=np.int64)
        self.bid, self.ask, self.bid_qty, self.ask_qty = self.top
        # when each (venue, symbol) top last changed (the quote's receipt): the rules' quote ages
        self.changed_ns = np.zeros((2, n_symbols), dtype=np.int64)
        self.dirty = np.zeros(n_symbols, dtype=bool)
        # the quote time that first made each symbol dirty since the last batch (tick->signal)
        self.dirty_since = np.zeros(n_symbols, dtype=np.int64)
        self.any_dirty = False
        self._flat = tuple(a.reshape(-1) for a in self.top)
        self._compiled_apply = None          # set by use_compiled() where numba is available
        self._compiled_overwrite = None

    def use_compiled(self, kernels: ModuleType) -> None:
        """Apply batches with the compiled loops of ``kernels`` (same result as the numpy code below)."""
        self._compiled_apply = kernels.apply_quotes
        self._compiled_overwrite = kernels.overwrite_quotes

    def update(self, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int, ts_ns: int) -> bool:
        """Apply one quote; returns True when it changed the top of book (dirty only if crossed)."""
        b, a, bq, aq = self.bid[venue], self.ask[venue], self.bid_qty[venue], self.ask_qty[venue]
        if b[sym] == bid and a[sym] == ask and bq[sym] == bid_qty and aq[sym] == ask_qty:
            return False
        b[sym] = bid
        a[sym] = ask
        bq[sym] = bid_qty
        aq[sym] = ask_qty
        self.changed_ns[venue, sym] = ts_ns
        if not self.dirty[sym]:
            bid0, ask0 = self.bid[0, sym], self.ask[0, sym]
            bid1, ask1 = self.bid[1, sym], self.ask[1, sym]
            if symbol_crossed(bid0, ask0, bid1, ask1):
                self.dirty[sym] = True
                self.dirty_since[sym] = ts_ns
                self.any_dirty = True
        return True

    def update_batch(self, sym: np.ndarray, venue: np.ndarray, bid: np.ndarray, ask: np.ndarray,
                     bid_qty: np.ndarray, ask_qty: np.ndarray, ts_ns: np.ndarray) -> None:
        """Apply many quotes in arrival order (later rows for the same slot overwrite earlier)."""
        if len(sym) == 0:
            return
        if self._compiled_apply is not None:
            if self._compiled_apply(self.top, self.changed_ns, self.dirty, self.dirty_since, sym, venue, bid, ask,
                                    bid_qty, ask_qty, ts_ns):
                self.any_dirty = True
            return
        fb, fa, fbq, faq = self._flat
        flat = venue * self.n + sym
        changed = (fb[flat] != bid) | (fa[flat] != ask) | (fbq[flat] != bid_qty) | (faq[flat] != ask_qty)
        fb[flat] = bid
        fa[flat] = ask
        fbq[flat] = bid_qty
        faq[flat] = ask_qty
        self.changed_ns.reshape(-1)[flat[changed]] = ts_ns[changed]
        if changed.any():
            moved = sym[changed]
            fresh = ~self.dirty[moved]
            if fresh.any():
                # repeated indices keep the last assignment: reversed, the earliest change wins
                self.dirty_since[moved[fresh][::-1]] = ts_ns[changed][fresh][::-1]
            self.dirty[moved] = True
            self.any_dirty = True

    def overwrite(self, sym: np.ndarray, venue: np.ndarray, bid: np.ndarray, ask: np.ndarray,
                  bid_qty: np.ndarray, ask_qty: np.ndarray, ts_ns: np.ndarray) -> None:
        """Set tops, each a change received at ``ts_ns``, without marking anything dirty."""
        if self._compiled_overwrite is not None:
            self._compiled_overwrite(self.top, self.changed_ns, sym, venue, bid, ask, bid_qty, ask_qty, ts_ns)
            return
        fb, fa, fbq, faq = self._flat
        flat = venue * self.n + sym
        fb[flat] = bid
        fa[flat] = ask
        fbq[flat] = bid_qty
        faq[flat] = ask_qty
        self.changed_ns.reshape(-1)[flat] = ts_ns

    def touch(self, sym: int | np.ndarray, ts_ns: int | np.ndarray) -> None:
        """Mark symbols dirty: they became eligible again and their standing book must be looked
        at (a gap that did not move is still a gap), or the fast replay applied quotes that left
        them crossed. ``ts_ns`` (one time, or one per entry of ``sym``, ascending) becomes the
        symbol's ``dirty_since`` where it was not dirty yet: the earliest entry per symbol wins."""
        if isinstance(sym, int) and isinstance(ts_ns, int):     # one symbol (a cooldown's end): no arrays
            if not self.dirty[sym]:
                self.dirty[sym] = True
                self.dirty_since[sym] = ts_ns
            self.any_dirty = True
            return
        idx = np.atleast_1d(np.asarray(sym, dtype=np.int64))
        if not idx.size:
            return
        ts = np.broadcast_to(np.asarray(ts_ns, dtype=np.int64), idx.shape)
        fresh = ~self.dirty[idx]
        # repeated indices keep the last assignment: reversed, the earliest wins
        self.dirty_since[idx[fresh][::-1]] = ts[fresh][::-1]
        self.dirty[idx] = True
        self.any_dirty = True

    def take_dirty(self) -> np.ndarray:
        """Indices of dirty symbols (ascending) and clear the mask."""
        idx = np.flatnonzero(self.dirty)
        self.dirty[idx] = False
        self.any_dirty = False
        return idx
