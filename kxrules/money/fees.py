"""Fees and tax for one trading day, in integer KRW, rounded as declared.

A :class:`CostModel` is built for a run date from the fee and tax tables. Each component is a
rate (integer fraction of ``RATE_SCALE``) and a rounding rule; an amount is
``floor(notional * rate / RATE_SCALE / unit) * unit`` computed in integers only, so the engine,
the emulator and the report agree to the won. The rule evaluator's vectorised form of the same
arithmetic is ``rules.variables.CostTables`` (tested equal to this ledger).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..market import VENUES
from . import RATE_SCALE

if TYPE_CHECKING:       # the ops view's process unpickles a CostModel without the config schema
    from ..config.schema.common import Rounding
    from ..config.schema.money import FeesFile, TaxFile

LIQUIDITY = ("taker", "maker")


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    rate: int          # fraction of RATE_SCALE
    unit: int          # round to a multiple of this many won
    mode: str          # floor | round_half_up | ceil

    def amount(self, notional: int) -> int:
        d = RATE_SCALE * self.unit
        x = notional * self.rate
        if self.mode == "floor":
            q = x // d
        elif self.mode == "ceil":
            q = -((-x) // d)
        else:
            q = (x + d // 2) // d
        return q * self.unit


def _component(name: str, rate: int, rounding: Rounding) -> Component:
    return Component(name, rate, rounding.unit, rounding.mode)


def liquidity_of(style: str) -> str:
    """Which fee schedule an order style pays: a midpoint order rests (maker), all else takes."""
    return "maker" if style == "mid" else "taker"


def is_broker_commission(name: str) -> bool:
    """The broker's commission among the fee components (the others are venue and regulatory
    fees): its name starts with ``broker``. Validation requires one per venue and side; the
    report splits commission from fees by the same rule."""
    return name.startswith("broker")


class CoverageError(LookupError):
    """The tables have no entry for a venue/side/market on the run date."""


class CostModel:
    """Commission, venue fees and transaction tax in force on one date."""

    def __init__(self, fees: FeesFile, tax: TaxFile, day: dt.date):
        self.day = day
        # fees[(venue, side, liquidity)] -> components
        self.fees: dict[tuple[str, str, str], tuple[Component, ...]] = {}
        for venue in VENUES:
            for side in ("buy", "sell"):
                for liq in LIQUIDITY:
                    comps = [
                        _component(f.name, f.rate_pct, f.rounding)
                        for f in fees.fees
                        if f.venue == venue and side in f.sides and f.liquidity in (liq, "any")
                        and any(p.covers(day) for p in f.periods)
                    ]
                    self.fees[(venue, side, liq)] = tuple(comps)
        self.taxes: dict[str, tuple[Component, ...]] = {}
        for mt in tax.taxes:
            for period in mt.periods:
                if period.covers(day):
                    self.taxes[mt.market] = tuple(
                        _component(c.name, c.rate_pct, c.rounding) for c in period.components)

    # -- scalar (ledger) ---------------------------------------------------------------------
    def fee(self, venue: str, side: str, price: int, qty: int, liquidity: str = "taker") -> int:
        notional = price * qty
        return sum(c.amount(notional) for c in self.fee_components(venue, side, liquidity))

    def tax(self, market: str, side: str, price: int, qty: int) -> int:
        if side != "sell":
            return 0
        notional = price * qty
        return sum(c.amount(notional) for c in self.tax_components(market))

    def fee_components(self, venue: str, side: str, liquidity: str = "taker") -> tuple[Component, ...]:
        comps = self.fees.get((venue, side, liquidity))
        if not comps:
            raise CoverageError(f"no fee for {venue} {side} ({liquidity}) on {self.day}")
        return comps

    def tax_components(self, market: str) -> tuple[Component, ...]:
        comps = self.taxes.get(market)
        if comps is None:
            raise CoverageError(f"no transaction tax for {market} on {self.day}")
        return comps

    def round_trip_cost(self, market: str, buy_venue: str, buy_price: int, sell_venue: str,
                        sell_price: int, qty: int, *, buy_liq: str = "taker",
                        sell_liq: str = "taker") -> int:
        return (self.fee(buy_venue, "buy", buy_price, qty, buy_liq)
                + self.fee(sell_venue, "sell", sell_price, qty, sell_liq)
                + self.tax(market, "sell", sell_price, qty))

    def describe(self) -> dict[str, Any]:
        """The rates in force, for the run record and the report header."""
        def comp(c: Component) -> dict[str, str | int]:
            return {"name": c.name, "rate_pct": f"{c.rate * 100 / RATE_SCALE:.8g}", "unit": c.unit,
                    "mode": c.mode}
        return {
            "date": self.day.isoformat(),
            "fees": {f"{v}/{s}/{liq}": [comp(c) for c in comps]
                     for (v, s, liq), comps in self.fees.items()},
            "tax": {m: [comp(c) for c in comps] for m, comps in self.taxes.items()},
        }


def break_even_ticks(model: CostModel, market: str, price: int, tick_of: Callable[[int], int],
                     qty: int = 1, buy_venue: str = "KRX", sell_venue: str = "NXT",
                     max_ticks: int = 200) -> int:
    """Smallest whole number of ticks of gross edge whose profit covers every cost (net >= 0)."""
    tick = tick_of(price)
    for k in range(max_ticks + 1):
        sell = price + k * tick
        net = (sell - price) * qty - model.round_trip_cost(market, buy_venue, price, sell_venue, sell, qty)
        if net >= 0:
            return k
    return max_ticks + 1
