"""Shared field types for the config schema."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from ...seoul import parse_hms

RATE_SCALE = 10**10  # integer rates are fractions in units of 1e-10 (0.015% -> 1_500_000)


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _parse_hms(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        raise PydanticCustomError("time_format", "time of day must be a quoted \"HH:MM:SS\" string")
    try:
        return parse_hms(value)
    except ValueError as exc:
        kind = "out_of_range" if "valid time" in str(exc) else "time_format"
        raise PydanticCustomError(kind, str(exc)) from None


TimeOfDay = Annotated[int, BeforeValidator(_parse_hms)]
"""Seconds after midnight, written as "HH:MM:SS" in YAML."""


def _parse_rate_pct(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise PydanticCustomError("rate_format", "rate must be a decimal number of percent, e.g. \"0.015\"")
    try:
        pct = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("rate_format", "rate '{value}' is not a decimal number",
                                  {"value": value}) from None
    if pct < 0:
        raise PydanticCustomError("rate_negative", "rate {value}% is negative",
                                  {"value": value})
    if pct > 100:
        raise PydanticCustomError("rate_range", "rate {value}% must lie between 0 and 100",
                                  {"value": value})
    scaled = pct * (RATE_SCALE // 100)
    if scaled != scaled.to_integral_value():
        raise PydanticCustomError("rate_precision",
                                  "rate {value}% has more precision than 1e-10 of the notional",
                                  {"value": value})
    return int(scaled)


RatePct = Annotated[int, BeforeValidator(_parse_rate_pct)]
"""A percentage written as a decimal (\"0.0145\"), held as an integer fraction of RATE_SCALE."""

Venue = Literal["KRX", "NXT"]
Side = Literal["buy", "sell"]
Market = Literal["KOSPI", "KOSDAQ"]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


class Rounding(Strict):
    """Round a computed amount to money: ``floor`` to a multiple of ``unit`` won."""

    unit: Literal[1, 10, 100] = 1
    mode: Literal["floor", "round_half_up", "ceil"] = "floor"


class Period(Strict):
    from_: dt.date = Field(alias="from")
    to: dt.date | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def covers(self, day: dt.date) -> bool:
        return self.from_ <= day and (self.to is None or day <= self.to)
