"""The fast replay's compiled passes (numba); ``shadow.ShadowBook`` and ``fast.FastReplay`` hold
their numpy twins, which tests hold to identical results.

- ``shadow_flags``: walk a chunk of quotes in file order against the shadow book (the last quote
  per venue and symbol, packed) and flag each row that changed its venue's top, and whether its
  symbol is crossed right after it. Runs on the read-ahead thread: it lets go of the GIL.
- ``deliver``: put a run's quotes delivered by a time into the engine's book and mark the
  symbols the crossing ones left crossed (those the gates leave open), in one call per window.
"""
from __future__ import annotations

from numba import njit

from ..arrays import I64, U8, Mask
from ..engine.crossing import symbol_crossed
from ..engine.gates import closed
from .shadow import CHANGED, CROSSING, LOW32


@njit(cache=True, nogil=True)
def shadow_flags(shadow_px: I64, shadow_sz: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64,
                 flags: U8, hot: I64) -> int:
    """Flag each quote against the shadow book (packed (bid << 32 | ask) and (bid_qty << 32 |
    ask_qty) per venue and symbol), updating it: 0 if it changed nothing, ``CHANGED``, or
    ``CHANGED | CROSSING`` when its symbol is crossed right after it; the positions of the
    latter go into ``hot``. Returns how many there are."""
    n_hot = 0
    for i in range(sym.shape[0]):
        s = sym[i]
        v = venue[i]
        px = (bid[i] << 32) | ask[i]
        sz = (bq[i] << 32) | aq[i]
        if shadow_px[v, s] == px and shadow_sz[v, s] == sz:
            flags[i] = 0
            continue
        shadow_px[v, s] = px
        shadow_sz[v, s] = sz
        k = shadow_px[0, s]
        x = shadow_px[1, s]
        if symbol_crossed(k >> 32, k & LOW32, x >> 32, x & LOW32):
            flags[i] = CHANGED | CROSSING
            hot[n_hot] = i
            n_hot += 1
        else:
            flags[i] = CHANGED
    return n_hot


@njit(cache=True, nogil=True)
def deliver(sym: I64, venue: I64, bid: I64, ask: I64, bq: I64, aq: I64, d: I64, flags: U8, head: int, tail: int,
            t: int, muted: Mask, operator_muted: Mask, frozen: Mask, live: I64, max_live: I64, next_eligible: I64,
            top: I64, changed_ns: I64, dirty: Mask, dirty_since: I64) -> tuple[int, bool]:
    """The run's quotes from ``head`` delivered by ``t`` (``d``) go into the book (``top``: bid,
    ask, bid_qty, ask_qty per venue and symbol; ``changed_ns``), those that changed nothing
    skipped; a crossing one marks its symbol dirty (``dirty_since``: the first such delivery
    since the symbol was last clean) unless the gates close the symbol at ``t`` (the batch at
    ``t`` would drop the mark unread). Returns the new head and whether any symbol was marked."""
    marked = False
    i = head
    while i < tail and d[i] <= t:
        f = flags[i]
        if f:
            s = sym[i]
            v = venue[i]
            top[0, v, s] = bid[i]
            top[1, v, s] = ask[i]
            top[2, v, s] = bq[i]
            top[3, v, s] = aq[i]
            changed_ns[v, s] = d[i]
            if f & CROSSING and not closed(s, t, muted, operator_muted, frozen, live, max_live, next_eligible):
                marked = True
                if not dirty[s]:
                    dirty[s] = True
                    dirty_since[s] = d[i]
        i += 1
    return i, marked
