"""The fast replay host's crossing flags as one compiled pass (numba); see ``FastReplay._shadow``,
its numpy twin, which tests hold to identical flags and shadow state."""
from __future__ import annotations

import numpy as np
from numba import njit

from ..arrays import I64, Mask

from ..engine.crossing import symbol_crossed

LOW32 = (1 << 32) - 1


@njit(cache=True)
def shadow_flags(shadow_px: I64, shadow_sz: I64, sym: I64, venue: I64, bid: I64, ask: I64, bq: I64,
                 aq: I64) -> tuple[Mask, Mask]:
    """Walk the quotes in time order against the shadow book (packed (bid << 32 | ask) and
    (bid_qty << 32 | ask_qty) per venue and symbol), updating it; per quote return whether it
    changed its venue's top and whether its symbol is crossed right after it."""
    n = sym.shape[0]
    changed = np.empty(n, dtype=np.bool_)
    crossed = np.empty(n, dtype=np.bool_)
    for i in range(n):
        s = sym[i]
        v = venue[i]
        px = (bid[i] << 32) | ask[i]
        sz = (bq[i] << 32) | aq[i]
        changed[i] = (shadow_px[v, s] != px) | (shadow_sz[v, s] != sz)
        shadow_px[v, s] = px
        shadow_sz[v, s] = sz
        k = shadow_px[0, s]
        x = shadow_px[1, s]
        crossed[i] = symbol_crossed(k >> 32, k & LOW32, x >> 32, x & LOW32)
    return changed, crossed
