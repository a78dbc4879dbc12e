"""The names a rule expression may read, and how each is computed for a candidate direction.

One function (:func:`candidate_env`) builds them over numpy arrays; the engine's evaluator and
`validate`'s economics probe both call it, so what validate proves is what the engine runs.
"""
from __future__ import annotations

import numpy as np

from ..config.schema.strategy import PARAMETER_NAMES
from ..money.fees import CostModel
from ..money.ticks import tick_sizes

NUM = "num"

MARKET_VARIABLES: dict[str, str] = {
    "buy_ask": "best ask on the venue we buy on (KRW)",
    "buy_ask_qty": "size at that ask (shares)",
    "sell_bid": "best bid on the venue we sell on (KRW)",
    "sell_bid_qty": "size at that bid (shares)",
    "tick": "tick size at buy_ask (KRW)",
    "gross_edge_krw": "(sell_bid - buy_ask) * slice_qty",
    "cost_krw": "commission + venue fees on both legs + sell tax for slice_qty, rounded as declared",
    "net_edge_krw": "gross_edge_krw - cost_krw",
    "net_edge_ticks": "net_edge_krw / (tick * slice_qty)",
    "sellable_qty": "shares we may sell on the sell venue now",
}


def known_names() -> dict[str, str]:
    names = {n: NUM for n in MARKET_VARIABLES}
    names.update({p: NUM for p in PARAMETER_NAMES})
    return names


def candidate_env(cost: CostModel, buy_venue: str, sell_venue: str, market_idx: np.ndarray,
                  buy_ask: np.ndarray, buy_ask_qty: np.ndarray, sell_bid: np.ndarray,
                  sell_bid_qty: np.ndarray, sellable_qty: np.ndarray,
                  params: dict[str, np.ndarray], sell_liquidity: str = "taker") -> dict[str, np.ndarray]:
    """All rule variables for one direction over the given symbols (arrays of equal length)."""
    slice_qty = params["slice_qty"]
    tick = tick_sizes(buy_ask)
    buy_notional = buy_ask * slice_qty
    sell_notional = sell_bid * slice_qty
    cost_krw = (cost.fee_array(buy_venue, "buy", buy_notional)
                + cost.fee_array(sell_venue, "sell", sell_notional, sell_liquidity)
                + cost.tax_array(market_idx, sell_notional))
    gross = sell_notional - buy_notional
    net = gross - cost_krw
    env = dict(params)
    env.update(
        buy_ask=buy_ask, buy_ask_qty=buy_ask_qty, sell_bid=sell_bid, sell_bid_qty=sell_bid_qty,
        tick=tick, gross_edge_krw=gross, cost_krw=cost_krw, net_edge_krw=net,
        net_edge_ticks=net / (tick * slice_qty), sellable_qty=sellable_qty,
    )
    return env
