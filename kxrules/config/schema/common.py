"""Shared field types for the config schema."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ...market import Market, Venue  # noqa: F401  (the schema's names for them)
from ...seoul import parse_hms


class Strict(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable, and a number or
    a flag must be written as one: ``true``, ``"5"`` or ``5.0`` is not the integer 5 (pydantic's
    lax mode would take all three), ``"0.5"`` is not a float, ``1`` or ``"yes"`` not a boolean.
    Fields that parse text on purpose (times, rates) declare a BeforeValidator and are exempt."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _written_as_its_type(cls, value: Any, info: ValidationInfo) -> Any:
        kind = _scalar_kinds(cls).get(info.field_name or "")
        if kind is None or value is None:
            return value
        if kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:                                   # float: an integer is a fine float
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            return value
        raise PydanticCustomError(f"{kind}_type", "expected {expected}, got {got}",
                                  {"expected": _EXPECTED[kind], "got": _describe(value)})


_EXPECTED = {"int": "a whole number (e.g. 5)", "float": "a number (e.g. 1.5)", "bool": "true or false"}
_KINDS: dict[type, dict[str, str]] = {}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r} (numbers and flags are written without quotes)"
    if isinstance(value, float):
        return f"the decimal {value!r}"
    return f"{type(value).__name__} {value!r}"[:80]


def _scalar_kinds(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> 'int' | 'float' | 'bool' for the model's plain scalar fields (optional ones
    included); fields with a BeforeValidator (they parse text on purpose) are left out."""
    kinds = _KINDS.get(model)
    if kinds is None:
        kinds = {}
        for name, field in model.model_fields.items():
            if any(isinstance(m, BeforeValidator) for m in field.metadata):
                continue
            args = get_args(field.annotation) if get_origin(field.annotation) in (Union, UnionType) \
                else (field.annotation,)
            args = tuple(a for a in args if a is not type(None))
            if args == (bool,):
                kinds[name] = "bool"
            elif args == (int,):
                kinds[name] = "int"
            elif args and set(args) <= {int, float}:
                kinds[name] = "float"
        _KINDS[model] = kinds
    return kinds


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


MAX_RATE_PCT = 5   # no KRX/NXT fee or tax comes near 5% of the notional; more is a typo (0.5 vs 5)


def _parse_rate_pct(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise PydanticCustomError("rate_format", "rate must be a decimal number of percent, e.g. \"0.015\"")
    try:
        pct = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("rate_format", "rate '{value}' is not a decimal number",
                                  {"value": value}) from None
    if not pct.is_finite():                          # NaN, sNaN, Infinity (also 1e400 read as a float)
        raise PydanticCustomError("rate_format", "rate '{value}' is not a finite decimal number",
                                  {"value": value})
    if pct < 0:
        raise PydanticCustomError("rate_negative", "rate {value}% is negative",
                                  {"value": value})
    if pct > MAX_RATE_PCT:
        raise PydanticCustomError("rate_range", "rate {value}% must lie between 0 and {max}%",
                                  {"value": value, "max": MAX_RATE_PCT})
    # Exactly, in integers: Decimal arithmetic would round a long literal to 28 digits and a tiny
    # one (1e-9999999) to zero without a word.
    _, digits, exponent = pct.as_tuple()
    mantissa = int("".join(map(str, digits)) or "0")
    shift = exponent + 8                             # percent -> units of 1e-10 of the notional
    if mantissa == 0:
        return 0
    if shift >= 0:
        return mantissa * 10**shift                  # pct <= MAX_RATE_PCT keeps this small
    if -shift > len(digits) or mantissa % 10**-shift:
        raise PydanticCustomError("rate_precision",
                                  "rate {value}% has more precision than 1e-10 of the notional",
                                  {"value": value})
    return mantissa // 10**-shift


RatePct = Annotated[int, BeforeValidator(_parse_rate_pct)]
"""A percentage written as a decimal (\"0.0145\"), held as an integer fraction of RATE_SCALE."""

def _plain_number(value: object) -> int | float:
    """A number written as one: not a boolean, not a quoted string, finite, and small enough for
    int64 arithmetic (the bounds of each parameter are checked where its name is known)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number_type", "expected a number, got {got}", {"got": _describe(value)})
    if value != value or abs(value) > 10**15:          # NaN, infinities, 1e400, 10**23
        raise PydanticCustomError("out_of_range", "{value} is not a number of sane size (|x| <= 1e15)",
                                  {"value": value})
    return value


PlainNumber = Annotated[int | float, BeforeValidator(_plain_number)]
"""An int or float that is not a bool, a string, NaN or astronomically large (per-symbol overrides)."""

Side = Literal["buy", "sell"]
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
