"""The emulator's queues as compiled passes (numba): the matcher's queued quotes
(``matching.Exchange`` holds the numpy twins) and the real-data FIFO's delivery times
(``delivery.RealDataQueue``). ``KXRULES_NO_JIT`` runs the twins; the fast/faithful parity tests
and the delivery tests hold both to the per-quote path."""
from __future__ import annotations

import numpy as np
from numba import njit

from ...arrays import F64, I64, Mask

from ...seoul import NS_PER_MS


@njit(cache=True, nogil=True)
def apply_queued(sym: I64, vidx: I64, bid: I64, ask: I64, bq: I64, aq: I64, head: int, end: int, skip: Mask,
                 books: I64) -> None:
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


@njit(cache=True, nogil=True)
def apply_until(ts: I64, sym: I64, vidx: I64, bid: I64, ask: I64, bq: I64, aq: I64, head: int, upper: int,
                books: I64) -> int:
    """Apply the queued quotes from ``head`` stamped before ``upper`` (no book has a resting
    order); returns the position of the first left queued."""
    i = head
    n = ts.shape[0]
    while i < n and ts[i] < upper:
        k = sym[i] * 2 + vidx[i]
        books[0, k] = bid[i]
        books[1, k] = ask[i]
        books[2, k] = books[4, k] = bq[i]
        books[3, k] = books[5, k] = aq[i]
        i += 1
    return i


@njit(cache=True, nogil=True)
def resting_rows(ts: I64, sym: I64, vidx: I64, head: int, upper: int, resting: Mask, out: I64) -> tuple[int, int]:
    """The queued quotes from ``head`` stamped before ``upper``: their end, and how many of them
    are for a book ``resting`` flags (their positions, ascending, into ``out``)."""
    k = 0
    i = head
    n = ts.shape[0]
    while i < n and ts[i] < upper:
        if resting[sym[i] * 2 + vidx[i]]:
            out[k] = i
            k += 1
        i += 1
    return i, k


@njit(cache=True, nogil=True)
def next_touching(sym: I64, vidx: I64, head: int, wanted: Mask) -> int:
    """Position of the first queued quote (from ``head``) for a book ``wanted`` flags, or -1."""
    for i in range(head, sym.shape[0]):
        if wanted[sym[i] * 2 + vidx[i]]:
            return i
    return -1


@njit(cache=True, nogil=True)
def fifo_due(fed_ns: I64, ms: F64, cap_ms: float, min_ns: int, last_ns: int, out: I64) -> int:
    """Delivery time of each record fed at ``fed_ns`` with latency draw ``ms`` (capped at
    ``cap_ms``, truncated to ns, at least ``min_ns``), first in first out after ``last_ns``:
    ``LatencySampler.ns`` and ``RealDataQueue.due`` per record, in one pass. Returns the last."""
    last = last_ns
    for i in range(fed_ns.shape[0]):
        lat = np.int64(min(ms[i], cap_ms) * NS_PER_MS)
        t = fed_ns[i] + max(min_ns, lat)
        if t > last:
            last = t
        out[i] = last
    return last
