"""The matcher's queued quotes as compiled passes (numba); ``matching.Exchange`` holds the numpy
twins (``KXRULES_NO_JIT``), and the fast/faithful parity tests hold both to the per-quote path."""
from __future__ import annotations

from numba import njit

from .matching import AQ, ASK, BID, BQ, KEY, TS


@njit(cache=True)
def apply_queued(q, head, tail, upper, skip, bid, ask, bq, bid_avail, aq, ask_avail):
    """Apply the queued quotes from ``head`` stamped before ``upper`` to the books, in time order,
    except those of the books ``skip`` flags (their resting orders need the per-quote path).
    Returns the position of the first quote left queued."""
    i = head
    while i < tail and q[TS, i] < upper:
        k = q[KEY, i]
        if not skip[k]:
            bid[k] = q[BID, i]
            ask[k] = q[ASK, i]
            bq[k] = bid_avail[k] = q[BQ, i]
            aq[k] = ask_avail[k] = q[AQ, i]
        i += 1
    return i


@njit(cache=True)
def next_touching(q, head, tail, wanted):
    """Position of the first queued quote (from ``head``) for a book ``wanted`` flags, or -1."""
    for i in range(head, tail):
        if wanted[q[KEY, i]]:
            return i
    return -1
