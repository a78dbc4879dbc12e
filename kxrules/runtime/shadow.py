"""The fast replay's shadow book: which quotes change their venue's top of book and which of those
leave their symbol crossed.

Both follow from the quote stream alone, in file order, so they are worked out chunk by chunk on
the Parquet read-ahead thread, ahead of the replay that uses them (the compiled pass lets go of
the interpreter's lock). The replay thread gets each chunk with one flag byte per row
(``CHANGED``, ``CROSSING``) and the positions of its crossing rows: no copy of the quotes, and
only the delivery times are its own to work out (the emulator's latency draws stay on its thread).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import compiled
from ..arrays import I64, U8, Mask
from ..engine.crossing import symbol_crossed
from ..marketdata.prefetch import prefetched
from ..marketdata.quote_format import QuoteBatch, iter_quote_batches
from . import kept_flags

CHANGED = 1         # the row changed its venue's top of book
CROSSING = 2        # ... and left its symbol crossed right after it (only with CHANGED)
LOW32 = (1 << 32) - 1
# chunks prepared ahead: the helper needs the interpreter's lock between its steps (the read, the
# conversion, the pass), and waits for it while the replay runs Python; with one chunk ahead the
# replay waited 0.12-0.45 s a run for the next, with three ~0.02 s (the first chunk)
READ_AHEAD_CHUNKS = 3


@dataclass(slots=True)
class ShadowedChunk:
    batch: QuoteBatch
    flags: U8       # per row: 0, CHANGED, or CHANGED | CROSSING
    hot: I64        # positions of the CROSSING rows, ascending


class ShadowBook:
    """The last quote per venue and symbol, packed as (bid << 32 | ask) and (bid_qty << 32 |
    ask_qty): exact below 2**31, and one compare per quote instead of four."""

    def __init__(self, n_syms: int, *, use_jit: bool = True) -> None:
        self.n = n_syms
        self.px = np.zeros((2, n_syms), dtype=np.int64)
        self.sz = np.zeros((2, n_syms), dtype=np.int64)
        self._jit = compiled.load("kxrules.runtime.shadow_jit") if use_jit else None

    def mark(self, batch: QuoteBatch) -> ShadowedChunk:
        """Flag the chunk's rows against the book, then leave the book after its last row."""
        cols = (batch.code_idx, batch.venue_idx, batch.bid, batch.ask, batch.bid_qty, batch.ask_qty)
        n = len(batch)
        if self._jit is not None:
            flags = np.empty(n, dtype=np.uint8)
            hot = np.empty(n, dtype=np.int64)
            k = self._jit.shadow_flags(self.px, self.sz, *cols, flags, hot)
            return ShadowedChunk(batch, flags, hot[:k].copy())
        changed, crossed = self._changes(*cols)
        marks: U8 = np.where(changed, np.where(crossed, CHANGED | CROSSING, CHANGED), 0).astype(np.uint8)
        return ShadowedChunk(batch, marks, np.flatnonzero(marks & CROSSING))

    def _changes(self, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64) -> tuple[Mask, Mask]:
        """Per quote: did it change its venue's top, and is its symbol crossed right after it?
        (``shadow_jit.shadow_flags`` in numpy, for where numba is not installed.)

        One radix sort groups the quotes by symbol (time order kept); a forward fill per venue
        gives, for every row, the latest quote of each venue so far."""
        n = len(sym)
        order = np.argsort(sym.astype(np.uint16) if 2 * self.n < 1 << 16 else sym, kind="stable")
        s = sym[order]
        v = venue[order]
        px = (bid[order] << 32) | ask[order]
        sz = (bq[order] << 32) | aq[order]
        pos = np.arange(n)
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        gstart = np.repeat(starts, np.diff(np.r_[starts, n]))
        latest, before = [], []
        for vi in (0, 1):
            last = np.maximum.accumulate(np.where(v == vi, pos, -1))     # latest row of venue vi
            ok = last >= gstart
            latest.append(np.where(ok, px[np.maximum(last, 0)], self.px[vi, s]))
            prev = np.r_[-1, last[:-1]]                                  # ... strictly before
            before.append((prev >= gstart, prev))
        # changed: against the previous quote of the same venue (or the book)
        same_ok = np.where(v == 0, before[0][0], before[1][0])
        same_prev = np.maximum(np.where(v == 0, before[0][1], before[1][1]), 0)
        flat_key = v * self.n + s
        prev_px = np.where(same_ok, px[same_prev], self.px.reshape(-1)[flat_key])
        prev_sz = np.where(same_ok, sz[same_prev], self.sz.reshape(-1)[flat_key])
        changed = np.empty(n, dtype=bool)
        changed[order] = (prev_px != px) | (prev_sz != sz)
        k_px, n_px = latest
        crossed = np.empty(n, dtype=bool)
        crossed[order] = symbol_crossed(k_px >> 32, k_px & LOW32, n_px >> 32, n_px & LOW32)
        # the book keeps the last quote per (venue, symbol)
        ends = np.r_[starts[1:], n] - 1
        for vi in (0, 1):
            last = np.maximum.accumulate(np.where(v == vi, pos, -1))[ends]
            has = last >= starts
            rows, syms = last[has], s[ends][has]
            self.px[vi, syms] = px[rows]
            self.sz[vi, syms] = sz[rows]
        return changed, crossed


def shadowed_chunks(path: Path, codes: Sequence[str], chunk_rows: int) -> Iterator[ShadowedChunk]:
    """The quote file in chunks of ``chunk_rows``, each read, converted and marked by one shadow
    book on a helper thread while the caller replays earlier ones (file order: a replay stays
    deterministic). Where the process keeps days' flags (``kept_flags``), a day seen whole
    before is not marked again."""
    batches = iter_quote_batches(path, batch_rows=chunk_rows, codes=codes)
    key = kept_flags.day_key(path, codes, chunk_rows)
    known = kept_flags.kept(key) if key is not None else None
    chunks: Iterator[ShadowedChunk]
    if known is not None:
        chunks = (ShadowedChunk(batch, flags, hot) for batch, (flags, hot) in zip(batches, known, strict=True))
    else:
        chunks = map(ShadowBook(len(codes)).mark, batches)
        if key is not None:
            chunks = _keeping(key, chunks)
    return prefetched(chunks, depth=READ_AHEAD_CHUNKS)


def _keeping(key: kept_flags.DayKey, chunks: Iterator[ShadowedChunk]) -> Iterator[ShadowedChunk]:
    """``chunks``; once the last is made, the day's flags are kept (a run cut short keeps none)."""
    made: kept_flags.DayFlags = []
    for chunk in chunks:
        made.append((chunk.flags, chunk.hot))
        yield chunk
    kept_flags.keep(key, made)
