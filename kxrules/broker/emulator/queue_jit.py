"""The matcher's queued quotes as compiled passes (numba); ``matching.Exchange`` holds the numpy
twins (``KXRULES_NO_JIT``), and the fast/faithful parity tests hold both to the per-quote path."""
from __future__ import annotations

from numba import njit


@njit(cache=True)
def apply_queued(sym, vidx, bid, ask, bq, aq, head, end, skip, books):
    """Apply the queued quotes ``head:end`` to ``books`` (bid, ask, bid_qty, ask_qty, bid_avail,
    ask_avail per key ``sym * 2 + venue``) in time order, except those of the books ``skip`` flags
    (their resting orders took the per-quote path)."""
    for i in range(head, end):
        k = sym[i] * 2 + vidx[i]
        if not skip[k]:
            books[0, k] = bid[i]
            books[1, k] = ask[i]
            books[2, k] = books[4, k] = bq[i]
            books[3, k] = books[5, k] = aq[i]


@njit(cache=True)
def next_touching(sym, vidx, head, wanted):
    """Position of the first queued quote (from ``head``) for a book ``wanted`` flags, or -1."""
    for i in range(head, sym.shape[0]):
        if wanted[sym[i] * 2 + vidx[i]]:
            return i
    return -1
