"""The names a rule expression may read, and how they are computed for candidate trades.

A candidate is (direction, symbol): direction 0 buys KRX and sells NXT, direction 1 the reverse.
:class:`CostTables` lays every fee and tax component out as one column of an integer rate matrix
``rates[direction, symbol, column]``, so the cost of any set of candidates is one gather and a few
matrix operations, rounded per component exactly as the ledger rounds. The engine's evaluator
and `validate`'s economics probe both go through :func:`rule_variables`, so what validate proves
is what the engine runs.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..money import RATE_SCALE
from ..config.schema.parameters import FLOAT_PARAMETERS, INT_PARAMETERS
from ..config.schema.strategy import PARAMETER_NAMES
from ..market import MARKETS, VENUES
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
    "buy_quote_age_ms": "ms since the buy venue's top last changed (a float; demand fresh quotes)",
    "sell_quote_age_ms": "ms since the sell venue's top last changed",
}


def variable_slots() -> dict[str, int]:
    """Every rule variable's index in the compiled kernel's value vector."""
    names = list(MARKET_VARIABLES) + list(INT_PARAMETERS) + list(FLOAT_PARAMETERS)
    return {name: i for i, name in enumerate(names)}


def known_names() -> dict[str, str]:
    names = {n: NUM for n in MARKET_VARIABLES}
    names.update({p: NUM for p in PARAMETER_NAMES})
    return names


class CostTables:
    """Every cost component as a column: rate per (direction, symbol), divisor and unit per column."""

    def __init__(self, cost: CostModel, market_idx: np.ndarray, buy_liquidity: str | Mapping[str, str] = "taker",
                 sell_liquidity: str | Mapping[str, str] = "taker"):
        """``*_liquidity``: the fee schedule (taker, maker) of that leg, one for every venue or one per venue."""
        n = len(market_idx)
        buy_liq = {v: buy_liquidity for v in VENUES} if isinstance(buy_liquidity, str) else buy_liquidity
        sell_liq = {v: sell_liquidity for v in VENUES} if isinstance(sell_liquidity, str) else sell_liquidity
        columns: list[tuple[np.ndarray, int, str, bool]] = []      # (rates (2, n), unit, mode, on_sell)
        # buy-side columns first, then sell-side fees and taxes: notionals fill two blocks
        for venue_i, venue in enumerate(VENUES):
            for comp in cost.fee_components(venue, "buy", buy_liq[venue]):
                r = np.zeros((2, n), dtype=np.int64)
                r[venue_i, :] = comp.rate                         # direction d buys on venue d
                columns.append((r, comp.unit, comp.mode, False))
        for venue_i, venue in enumerate(VENUES):
            for comp in cost.fee_components(venue, "sell", sell_liq[venue]):
                r = np.zeros((2, n), dtype=np.int64)
                r[1 - venue_i, :] = comp.rate                     # direction d sells on venue 1-d
                columns.append((r, comp.unit, comp.mode, True))
        for m_i, market in enumerate(MARKETS):
            for comp in cost.taxes.get(market, ()):
                r = np.zeros((2, n), dtype=np.int64)
                r[:, market_idx == m_i] = comp.rate
                columns.append((r, comp.unit, comp.mode, True))
        self.rates = np.stack([c[0] for c in columns], axis=-1)            # (2, n, C)
        self.unit = np.array([c[1] for c in columns], dtype=np.int64)
        self.divisor = self.unit * RATE_SCALE
        self.n_buy = sum(1 for c in columns if not c[3])
        self.on_sell = np.array([c[3] for c in columns], dtype=np.bool_)
        modes = [c[2] for c in columns]
        self.ceil = np.array([m == "ceil" for m in modes])
        self.half_up = np.array([m == "round_half_up" for m in modes])
        self.all_floor = not (self.ceil.any() or self.half_up.any())
        self.mode = np.where(self.ceil, 1, np.where(self.half_up, 2, 0)).astype(np.int64)

    def cost(self, direction: np.ndarray, sym: np.ndarray, buy_notional: np.ndarray,
             sell_notional: np.ndarray) -> np.ndarray:
        x = self.rates[direction, sym]
        b = self.n_buy
        x[:, :b] *= buy_notional[:, None]
        x[:, b:] *= sell_notional[:, None]
        q = x // self.divisor
        if not self.all_floor:
            q = np.where(self.ceil, -((-x) // self.divisor), q)
            q = np.where(self.half_up, (x + self.divisor // 2) // self.divisor, q)
        return (q * self.unit).sum(axis=1)


class ParameterTable:
    """Per-symbol parameters as two matrices (integers stay integers: money is never a float)."""

    def __init__(self, params: dict[str, np.ndarray]):
        self.ints = np.stack([params[p].astype(np.int64) for p in INT_PARAMETERS], axis=1)
        self.floats = np.stack([params[p].astype(np.float64) for p in FLOAT_PARAMETERS], axis=1)

    def rows(self, sym: np.ndarray) -> dict[str, np.ndarray]:
        ints, floats = self.ints[sym].T, self.floats[sym].T
        env = dict(zip(INT_PARAMETERS, ints))
        env.update(zip(FLOAT_PARAMETERS, floats))
        return env


def rule_variables(tables: CostTables, params: ParameterTable, direction: np.ndarray, sym: np.ndarray,
                   buy_ask: np.ndarray, buy_ask_qty: np.ndarray, sell_bid: np.ndarray,
                   sell_bid_qty: np.ndarray, sellable_qty: np.ndarray, buy_quote_age_ms: np.ndarray | float = 0.0,
                   sell_quote_age_ms: np.ndarray | float = 0.0) -> dict[str, np.ndarray]:
    """Every rule variable for the candidates (direction[i], sym[i]), as equal-length arrays (the
    quote ages default to fresh: validate's economics probe has no clock)."""
    env = params.rows(sym)
    slice_qty = env["slice_qty"]
    tick = tick_sizes(buy_ask)
    buy_notional = buy_ask * slice_qty
    sell_notional = sell_bid * slice_qty
    cost = tables.cost(direction, sym, buy_notional, sell_notional)
    gross = sell_notional - buy_notional
    net = gross - cost
    env.update(buy_ask=buy_ask, buy_ask_qty=buy_ask_qty, sell_bid=sell_bid, sell_bid_qty=sell_bid_qty,
               tick=tick, gross_edge_krw=gross, cost_krw=cost, net_edge_krw=net,
               net_edge_ticks=net / (tick * slice_qty), sellable_qty=sellable_qty,
               buy_quote_age_ms=np.broadcast_to(np.asarray(buy_quote_age_ms, dtype=np.float64), buy_ask.shape),
               sell_quote_age_ms=np.broadcast_to(np.asarray(sell_quote_age_ms, dtype=np.float64), buy_ask.shape))
    return env
