"""rules/fees.yaml and rules/tax.yaml: what every fill costs, by venue, side, date and market."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Market, Period, RatePct, Rounding, Side, Strict, Venue


class FeeComponent(Strict):
    name: str
    venue: Venue
    sides: list[Side] = Field(min_length=1)
    liquidity: Literal["taker", "maker", "any"] = "any"
    rate_pct: RatePct
    rounding: Rounding = Rounding()
    basis: Literal["per_fill", "per_order"] = "per_fill"
    periods: list[Period] = Field(min_length=1)


class FeesFile(Strict):
    fees: list[FeeComponent] = Field(min_length=1)


class TaxComponent(Strict):
    name: str
    rate_pct: RatePct
    rounding: Rounding = Rounding()


class TaxPeriod(Period):
    components: list[TaxComponent] = Field(min_length=1)


class MarketTax(Strict):
    market: Market
    periods: list[TaxPeriod] = Field(min_length=1)


class TaxFile(Strict):
    taxes: list[MarketTax] = Field(min_length=1)
