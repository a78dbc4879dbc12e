"""The replay check's row tests as one compiled pass (numba); its numpy twin is
``quote_format._row_problems_numpy``, which tests hold to identical results."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _band_off_grid(p, bounds, on_grid_lut):
    """Set (> 0) and off the grid. ``bounds`` are the tick bands' exclusive upper bounds; every
    tick divides 1000, so ``on_grid_lut[band * 1000 + p % 1000]`` says whether ``p`` is a multiple
    of its band's tick (a constant divisor: no division in the loop)."""
    k = 0
    for j in range(bounds.shape[0]):    # branch-free: 3x faster than a search on mixed bands
        k += p >= bounds[j]
    return (p > 0) & (not on_grid_lut[k * 1000 + p % 1000])   # p % 1000 >= 0 (Python's %)


@njit(cache=True)
def _hit(count, first, k, i):
    if count[k] == 0:
        first[k] = i
    count[k] += 1


@njit(cache=True, nogil=True)
def row_problems(ts, bid, ask, bq, aq, prev_ts, ts_lo, ts_hi, max_price, max_size, check_grid, bounds,
                 on_grid_lut):
    """Every row test of ``quote_format.ROW_TESTS`` over one batch in one pass (failures are rare:
    each test is a branch not taken): per test, how many rows fail it and the first that does
    (-1: none). ``prev_ts`` is the previous batch's last ``ts_ns`` (the first row's own when there
    is none); [ts_lo, ts_hi) the run date."""
    count = np.zeros(15, dtype=np.int64)
    first = np.full(15, -1, dtype=np.int64)
    prev = prev_ts
    for i in range(ts.shape[0]):
        t, b, a, q1, q2 = ts[i], bid[i], ask[i], bq[i], aq[i]
        if t < prev:
            _hit(count, first, 0, i)
        prev = t
        if t < ts_lo or t >= ts_hi:
            _hit(count, first, 1, i)
        if b < 0:
            _hit(count, first, 2, i)
        if a < 0:
            _hit(count, first, 3, i)
        if q1 < 0:
            _hit(count, first, 4, i)
        if q2 < 0:
            _hit(count, first, 5, i)
        if b == 0 and q1 > 0:
            _hit(count, first, 6, i)
        if a == 0 and q2 > 0:
            _hit(count, first, 7, i)
        if b > max_price:
            _hit(count, first, 8, i)
        if a > max_price:
            _hit(count, first, 9, i)
        if q1 > max_size:
            _hit(count, first, 10, i)
        if q2 > max_size:
            _hit(count, first, 11, i)
        if b > 0 and a > 0 and b >= a:
            _hit(count, first, 12, i)
        if check_grid:
            if _band_off_grid(b, bounds, on_grid_lut):
                _hit(count, first, 13, i)
            if _band_off_grid(a, bounds, on_grid_lut):
                _hit(count, first, 14, i)
    return count, first
