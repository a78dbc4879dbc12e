"""When two venues' quotes cross: the one test behind every signal.

Direction d buys on venue d at its ask and sells on the other venue at its bid. Without both
venues quoting both sides and the sell bid above the buy ask, no trade can make money, so the
evaluator (numpy and compiled) only costs crossed directions and the fast replay only evaluates
batches in which a symbol is crossed. The functions take scalars or numpy arrays alike and are
callable from the numba kernels (``compiled.jitable``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Union

from ..compiled import jitable

if TYPE_CHECKING:
    import numpy as np

    Prices = Union[int, np.integer, np.ndarray]     # one price, or one per symbol/direction
    Flags = Union[bool, np.bool_, np.ndarray]


@jitable
def direction_crossed(buy_bid: Prices, buy_ask: Prices, sell_bid: Prices, sell_ask: Prices) -> Flags:
    """Both venues two-sided (a zero price is a missing quote) and the sell venue's bid above the
    buy venue's ask."""
    return (buy_bid > 0) & (buy_ask > 0) & (sell_bid > 0) & (sell_ask > 0) & (sell_bid > buy_ask)


@jitable
def symbol_crossed(bid0: Prices, ask0: Prices, bid1: Prices, ask1: Prices) -> Flags:
    """Either direction of a symbol is crossed (venue 0's quote, then venue 1's)."""
    return direction_crossed(bid0, ask0, bid1, ask1) | direction_crossed(bid1, ask1, bid0, ask0)
