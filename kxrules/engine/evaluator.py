"""One vectorised pass of the compiled rules over the dirty, armed, not-cooling symbols.

For both directions (buy KRX / sell NXT, and buy NXT / sell KRX) the rule variables are built
over the candidate subset with the same function `validate` probes with, every compiled kernel
is applied, and the survivors become signals. A direction is only considered where the sell
venue's bid is above the buy venue's ask (without a price gap no trade can make money); a gap the
rules refuse cools the symbol for cooldown_ms so a flickering edge does not thrash. Signals come out in a deterministic order:
largest net edge first, then symbol index, then direction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..money.fees import CostModel
from ..rules.expr import CompiledExpr
from ..rules.variables import candidate_env
from .quotebook import KRX, NXT, QuoteBook

DIRECTIONS = ((KRX, NXT), (NXT, KRX))          # (buy venue, sell venue)
VENUE_NAMES = ("KRX", "NXT")


@dataclass(slots=True)
class Signal:
    sym: int
    buy_venue: int
    sell_venue: int
    buy_price: int
    sell_price: int
    buy_qty_visible: int
    sell_qty_visible: int
    qty: int
    gross_edge_krw: int
    cost_krw: int
    net_edge_krw: int
    quote_ts_ns: int          # when the quote that made the symbol dirty arrived (tick->signal)


class RuleEvaluator:
    def __init__(self, book: QuoteBook, cost: CostModel, kernels: tuple[CompiledExpr, ...],
                 params: dict[str, np.ndarray], market_idx: np.ndarray, sell_liquidity: str = "taker",
                 miss_cooldown_ms: int = 0):
        self.book = book
        self.cost = cost
        self.kernels = kernels
        self.params = params
        self.market_idx = market_idx
        self.sell_liquidity = sell_liquidity
        self.miss_cooldown_ns = int(miss_cooldown_ms) * 1_000_000
        self.n = book.n
        # symbol muted until this time (cooldown after a miss/reject/back-off), ns
        self.next_eligible_ns = np.zeros(self.n, dtype=np.int64)
        self.sellable = np.zeros((2, self.n), dtype=np.int64)   # per venue, shares we may sell

    def cool(self, sym: int, until_ns: int) -> None:
        if until_ns > self.next_eligible_ns[sym]:
            self.next_eligible_ns[sym] = until_ns

    def evaluate(self, now_ns: int, eligible: np.ndarray) -> list[Signal]:
        """``eligible``: bool mask of symbols that may trade now (armed, not muted, not busy)."""
        book = self.book
        dirty_since = book.dirty_since.copy() if book.any_dirty else None
        idx = book.take_dirty()
        if idx.size == 0:
            return []
        keep = eligible[idx] & (self.next_eligible_ns[idx] <= now_ns)
        idx = idx[keep]
        if idx.size == 0:
            return []
        idx = idx[book.quoted(idx)]
        if idx.size == 0:
            return []
        params = {k: v[idx] for k, v in self.params.items()}
        markets = self.market_idx[idx]
        signals: list[Signal] = []
        for buy_v, sell_v in DIRECTIONS:
            buy_ask = book.ask[buy_v, idx]
            sell_bid = book.bid[sell_v, idx]
            # no crossed prices, no rule evaluation (the common case exits here)
            cand = sell_bid > buy_ask
            if not cand.any():
                continue
            sub = np.flatnonzero(cand)
            env = candidate_env(
                self.cost, VENUE_NAMES[buy_v], VENUE_NAMES[sell_v], markets[sub], buy_ask[sub],
                book.ask_qty[buy_v, idx[sub]], sell_bid[sub], book.bid_qty[sell_v, idx[sub]],
                self.sellable[sell_v, idx[sub]], {k: v[sub] for k, v in params.items()},
                self.sell_liquidity)
            ok = np.ones(sub.size, dtype=bool)
            for kern in self.kernels:
                ok &= kern.evaluate(env, sub.size)
            if self.miss_cooldown_ns:
                # a price gap the rules refused: let a flickering edge settle before looking again
                missed = idx[sub[~ok]]
                self.next_eligible_ns[missed] = np.maximum(self.next_eligible_ns[missed],
                                                           now_ns + self.miss_cooldown_ns)
            for j in np.flatnonzero(ok):
                s = int(idx[sub[j]])
                signals.append(Signal(
                    sym=s, buy_venue=buy_v, sell_venue=sell_v,
                    buy_price=int(env["buy_ask"][j]), sell_price=int(env["sell_bid"][j]),
                    buy_qty_visible=int(env["buy_ask_qty"][j]), sell_qty_visible=int(env["sell_bid_qty"][j]),
                    qty=int(env["slice_qty"][j]), gross_edge_krw=int(env["gross_edge_krw"][j]),
                    cost_krw=int(env["cost_krw"][j]), net_edge_krw=int(env["net_edge_krw"][j]),
                    quote_ts_ns=int(dirty_since[s]) if dirty_since is not None else now_ns))
        signals.sort(key=lambda g: (-g.net_edge_krw, g.sym, g.buy_venue))
        return signals
