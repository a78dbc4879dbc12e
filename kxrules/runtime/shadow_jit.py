"""The fast replay host's compiled passes (numba); ``FastReplay`` holds their numpy twins, which
tests hold to identical results.

- ``shadow_pending``: walk the quotes in time order against the shadow book (the last quote per
  venue and symbol, packed); write each that changed its venue's top straight into the pending
  buffer (the rows ``fast.D`` ... ``fast.CROSSING``) with its delivery time and whether its
  symbol is crossed right after it.
- ``deliver``: put the pending quotes delivered by a time into the engine's book and mark the
  symbols the crossing ones left crossed, in one call per window.
"""
from __future__ import annotations

from numba import njit

from ..arrays import I64, Mask
from ..engine.crossing import symbol_crossed
from .fast import AQ, ASK, BID, BQ, CROSSING, D, LOW32, SYM, VENUE


@njit(cache=True)
def shadow_pending(shadow_px: I64, shadow_sz: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64,
                   d: I64, buf: I64, tail: int) -> tuple[int, int]:
    """Walk the quotes in time order against the shadow book (packed (bid << 32 | ask) and
    (bid_qty << 32 | ask_qty) per venue and symbol), updating it; each quote that changed its
    venue's top is written as a column of ``buf`` from ``tail`` on (delivery time, symbol, venue,
    top, whether its symbol is crossed right after it). Returns the new tail and how many of them
    leave their symbol crossed."""
    hot = 0
    for i in range(sym.shape[0]):
        s = sym[i]
        v = venue[i]
        px = (bid[i] << 32) | ask[i]
        sz = (bq[i] << 32) | aq[i]
        if shadow_px[v, s] == px and shadow_sz[v, s] == sz:
            continue
        shadow_px[v, s] = px
        shadow_sz[v, s] = sz
        k = shadow_px[0, s]
        x = shadow_px[1, s]
        crossing = symbol_crossed(k >> 32, k & LOW32, x >> 32, x & LOW32)
        buf[D, tail] = d[i]
        buf[SYM, tail] = s
        buf[VENUE, tail] = v
        buf[BID, tail] = bid[i]
        buf[ASK, tail] = ask[i]
        buf[BQ, tail] = bq[i]
        buf[AQ, tail] = aq[i]
        buf[CROSSING, tail] = 1 if crossing else 0
        hot += 1 if crossing else 0
        tail += 1
    return tail, hot


@njit(cache=True)
def deliver(buf: I64, head: int, tail: int, t: int, top: I64, changed_ns: I64, dirty: Mask,
            dirty_since: I64) -> tuple[int, bool]:
    """The pending quotes from ``head`` delivered by ``t`` go into the book (``top``: bid, ask,
    bid_qty, ask_qty per venue and symbol; ``changed_ns``); a crossing one marks its symbol dirty
    (``dirty_since``: the first such delivery since the symbol was last clean). Returns the new
    head and whether any symbol was marked."""
    marked = False
    i = head
    while i < tail and buf[D, i] <= t:
        s = buf[SYM, i]
        v = buf[VENUE, i]
        top[0, v, s] = buf[BID, i]
        top[1, v, s] = buf[ASK, i]
        top[2, v, s] = buf[BQ, i]
        top[3, v, s] = buf[AQ, i]
        changed_ns[v, s] = buf[D, i]
        if buf[CROSSING, i]:
            marked = True
            if not dirty[s]:
                dirty[s] = True
                dirty_since[s] = buf[D, i]
        i += 1
    return i, marked
