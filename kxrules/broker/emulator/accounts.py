"""Cash and holdings of the emulated (cash) account: the broker's books, not the engine's.

- Sells reserve orderable quantity when accepted and give back what is cancelled; a sell above
  the orderable quantity is refused (no naked short selling in a cash account).
- Buys reserve cash at the order's price (or an estimate for market-type orders); fills settle
  cash at once (sale proceeds are usable the same day, as at a Korean broker).
- Average price (931) is the purchase cost per share without fees, truncated to the won.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Holding:
    qty: int = 0
    orderable: int = 0
    total_cost: int = 0
    net_buy_today: int = 0
    realized_today: int = 0

    @property
    def avg_price(self) -> int:
        return self.total_cost // self.qty if self.qty else 0


@dataclass(slots=True)
class Account:
    number: str
    cash: int
    holdings: dict[str, Holding] = field(default_factory=dict)
    reserved_cash: int = 0

    @classmethod
    def opening(cls, number: str, cash: int, holdings: dict[str, int],
                ref_prices: dict[str, int]) -> "Account":
        acct = cls(number, cash)
        for code, qty in holdings.items():
            acct.holdings[code] = Holding(qty=qty, orderable=qty,
                                          total_cost=qty * ref_prices.get(code, 0))
        return acct

    def holding(self, code: str) -> Holding:
        h = self.holdings.get(code)
        if h is None:
            h = self.holdings[code] = Holding()
        return h

    @property
    def orderable_cash(self) -> int:
        return self.cash - self.reserved_cash

    def reserve_sell(self, code: str, qty: int) -> bool:
        h = self.holding(code)
        if qty > h.orderable:
            return False
        h.orderable -= qty
        return True

    def release_sell(self, code: str, qty: int) -> None:
        h = self.holding(code)
        h.orderable = min(h.qty, h.orderable + qty)

    def reserve_buy(self, amount: int) -> bool:
        if amount > self.orderable_cash:
            return False
        self.reserved_cash += amount
        return True

    def release_buy(self, amount: int) -> None:
        self.reserved_cash = max(0, self.reserved_cash - amount)

    def settle_buy(self, code: str, price: int, qty: int, fee: int) -> None:
        h = self.holding(code)
        h.qty += qty
        h.orderable += qty
        h.total_cost += price * qty
        h.net_buy_today += qty
        self.cash -= price * qty + fee

    def settle_sell(self, code: str, price: int, qty: int, fee: int, tax: int) -> None:
        h = self.holding(code)
        avg = h.avg_price
        h.qty -= qty
        h.total_cost = 0 if h.qty == 0 else h.total_cost - avg * qty
        h.net_buy_today -= qty
        h.realized_today += (price - avg) * qty - fee - tax
        self.cash += price * qty - fee - tax

    def snapshot(self) -> dict[str, object]:
        return {"cash": self.cash, "reserved_cash": self.reserved_cash,
                "holdings": {c: (h.qty, h.orderable, h.avg_price)
                             for c, h in sorted(self.holdings.items())}}
