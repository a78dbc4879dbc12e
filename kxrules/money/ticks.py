"""The KRX/NXT price grid (호가가격단위), one table for both venues since 2023-01-25."""
from __future__ import annotations

import numpy as np

# (upper bound exclusive, tick) in KRW; the last band is open-ended.
TICK_BANDS: tuple[tuple[int, int], ...] = (
    (2_000, 1),
    (5_000, 5),
    (20_000, 10),
    (50_000, 50),
    (200_000, 100),
    (500_000, 500),
)
TOP_TICK = 1_000

_BOUNDS = np.array([b for b, _ in TICK_BANDS], dtype=np.int64)
_TICKS = np.array([t for _, t in TICK_BANDS] + [TOP_TICK], dtype=np.int64)


def tick_size(price: int) -> int:
    """Tick for a price in KRW (the tick of the band the price lies in)."""
    for bound, tick in TICK_BANDS:
        if price < bound:
            return tick
    return TOP_TICK


def tick_sizes(prices: np.ndarray) -> np.ndarray:
    """Vectorised :func:`tick_size` over an int64 array."""
    return _TICKS[np.searchsorted(_BOUNDS, prices, side="right")]


def on_grid(price: int) -> bool:
    return price > 0 and price % tick_size(price) == 0


def round_to_tick(price: int, *, up: bool = False) -> int:
    """Snap a price onto the grid, down (default) or up."""
    tick = tick_size(price)
    down = price - price % tick
    if not up or down == price:
        return down
    nxt = down + tick
    return nxt if nxt % tick_size(nxt) == 0 else down + tick_size(nxt)


def ticks_up(price: int, n: int = 1) -> int:
    """The price ``n`` ticks above ``price`` (crossing band boundaries correctly)."""
    for _ in range(n):
        price += tick_size(price)
    return price


def ticks_down(price: int, n: int = 1) -> int:
    for _ in range(n):
        price -= tick_size(price - 1)
    return price
