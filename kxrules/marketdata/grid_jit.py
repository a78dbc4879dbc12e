"""The replay check's tick-grid test as one compiled pass (numba); its numpy twin is
``quote_format._off_grid_numpy``, which tests hold to identical results."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def off_grid(px, bounds, on_grid_lut):
    """Per price: set (> 0) and off the grid. ``bounds`` are the tick bands' exclusive upper
    bounds; every tick divides 1000, so ``on_grid_lut[band * 1000 + p % 1000]`` says whether
    ``p`` is a multiple of its band's tick (a constant divisor: no division in the loop)."""
    n = px.shape[0]
    out = np.empty(n, dtype=np.bool_)
    nb = bounds.shape[0]
    for i in range(n):
        p = px[i]
        k = 0
        for j in range(nb):             # branch-free: 3x faster than a search on mixed bands
            k += p >= bounds[j]
        out[i] = (p > 0) & (not on_grid_lut[k * 1000 + p % 1000])   # p % 1000 >= 0 (Python's %)
    return out
