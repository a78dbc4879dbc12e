"""One vectorised pass of the compiled rules over the dirty, armed, not-cooling symbols.

Both directions are looked at together on the (venue, symbol) book arrays: direction d buys on
venue d at its ask and sells on the other venue at its bid. Only candidates whose sell bid is
above the buy ask (without a price gap no trade can make money) are gathered, costed with the
cost tables and run through every compiled kernel; survivors come out as one columnar
:class:`SignalBatch`, ordered deterministically (largest net edge, then symbol, then direction).
A gap the rules refuse cools its symbol for cooldown_ms so a flickering edge does not thrash.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..money.fees import CostModel
from ..rules.expr import CompiledExpr, raw_kernel
from ..rules.variables import CostTables, ParameterTable, rule_variables
from .quotebook import QuoteBook

VENUE_NAMES = ("KRX", "NXT")


@dataclass(slots=True)
class Signal:
    """One admitted-or-refused candidate (built only for rows admission looks at)."""

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


@dataclass(slots=True)
class SignalBatch:
    """Signals of one batch as columns (int64 arrays), already in admission order."""

    sym: np.ndarray
    buy_venue: np.ndarray
    buy_price: np.ndarray
    sell_price: np.ndarray
    buy_qty_visible: np.ndarray
    sell_qty_visible: np.ndarray
    qty: np.ndarray
    gross_edge_krw: np.ndarray
    cost_krw: np.ndarray
    net_edge_krw: np.ndarray
    quote_ts_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.sym)

    def row(self, i: int) -> Signal:
        bv = int(self.buy_venue[i])
        return Signal(int(self.sym[i]), bv, 1 - bv, int(self.buy_price[i]), int(self.sell_price[i]),
                      int(self.buy_qty_visible[i]), int(self.sell_qty_visible[i]), int(self.qty[i]),
                      int(self.gross_edge_krw[i]), int(self.cost_krw[i]), int(self.net_edge_krw[i]),
                      int(self.quote_ts_ns[i]))


class RuleEvaluator:
    def __init__(self, book: QuoteBook, cost: CostModel, kernels: tuple[CompiledExpr, ...],
                 params: dict[str, np.ndarray], market_idx: np.ndarray, sell_liquidity: str = "taker",
                 miss_cooldown_ms: int = 0):
        self.book = book
        self.kernels = tuple(raw_kernel(k) for k in kernels)
        self.n = book.n
        self.tables = CostTables(cost, market_idx, sell_liquidity)
        self.params = ParameterTable(params)
        self.miss_cooldown_ns = int(miss_cooldown_ms) * 1_000_000
        # symbol muted until this time (cooldown after a miss/reject/back-off), ns
        self.next_eligible_ns = np.zeros(self.n, dtype=np.int64)
        self.sellable = np.zeros((2, self.n), dtype=np.int64)   # per venue, shares we may sell
        self._flat = tuple(a.reshape(-1) for a in (book.bid, book.ask, book.bid_qty, book.ask_qty))
        self._sellable_flat = self.sellable.reshape(-1)

    def cool(self, sym: int, until_ns: int) -> None:
        if until_ns > self.next_eligible_ns[sym]:
            self.next_eligible_ns[sym] = until_ns

    def evaluate(self, now_ns: int, eligible: np.ndarray) -> SignalBatch | None:
        """``eligible``: bool mask of symbols that may trade now (armed, not muted, not busy)."""
        book = self.book
        if not book.any_dirty:
            return None
        look = book.dirty & eligible & (self.next_eligible_ns <= now_ns)
        book.dirty[:] = False
        book.any_dirty = False
        bid, ask = book.bid, book.ask
        # both venues two-sided, and the other venue's bid above this venue's ask
        quoted = (bid[0] > 0) & (bid[1] > 0) & (ask[0] > 0) & (ask[1] > 0) & look
        crossed = (bid[::-1] > ask) & quoted
        direction, sym = np.nonzero(crossed)
        if sym.size == 0:
            return None
        n = self.n
        fb, fa, fbq, faq = self._flat
        buy_at = direction * n + sym
        sell_at = (1 - direction) * n + sym
        k = sym.size
        with np.errstate(all="ignore"):
            env = rule_variables(self.tables, self.params, direction, sym, fa[buy_at], faq[buy_at],
                                 fb[sell_at], fbq[sell_at], self._sellable_flat[sell_at])
            ok = np.ones(k, dtype=bool)
            for kern in self.kernels:
                ok &= kern(env)
        if self.miss_cooldown_ns and not ok.all():
            missed = sym[~ok]
            self.next_eligible_ns[missed] = np.maximum(self.next_eligible_ns[missed],
                                                       now_ns + self.miss_cooldown_ns)
        hit = np.flatnonzero(ok)
        if hit.size == 0:
            return None
        if hit.size > 1:
            order = hit[np.lexsort((direction[hit], sym[hit], -env["net_edge_krw"][hit]))]
        else:
            order = hit
        s = sym[order]
        return SignalBatch(
            sym=s, buy_venue=direction[order], buy_price=env["buy_ask"][order],
            sell_price=env["sell_bid"][order], buy_qty_visible=env["buy_ask_qty"][order],
            sell_qty_visible=env["sell_bid_qty"][order], qty=env["slice_qty"][order],
            gross_edge_krw=env["gross_edge_krw"][order], cost_krw=env["cost_krw"][order],
            net_edge_krw=env["net_edge_krw"][order], quote_ts_ns=book.dirty_since[s])
