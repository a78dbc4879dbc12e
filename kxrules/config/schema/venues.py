"""Venue mapping as data: how KRX / NXT / SOR orders and quotes look to the OpenAPI+ control.

The YAML (``config/venues/kiwoom.yaml``) is validated with :class:`VenueMapConfig`; the broker
loads it with ``kxrules.broker.venues.load_venue_map_file``. Public
sources confirm the NXT codes only for Kiwoom's REST API; if the control differs, a risk owner
fixes the YAML, not the code (the file lists what is assumed under ``assumptions:``).
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from ...market import OrderStyle as Style
from .common import Strict

VenueName = Literal["KRX", "NXT", "SOR"]

_SCREEN = re.compile(r"^\d{4}$")
_HOGA = re.compile(r"^\d{2}$")


class OrderTypes(Strict):
    """``nOrderType`` values of ``SendOrder`` for one venue."""

    buy: int = Field(description="신규매수")
    sell: int = Field(description="신규매도")
    cancel_buy: int = Field(description="매수취소")
    cancel_sell: int = Field(description="매도취소 (NXT/SOR use one cancel code for both sides)")
    modify_buy: int = Field(description="매수정정")
    modify_sell: int = Field(description="매도정정")


class VenueSpec(Strict):
    enabled: bool = Field(description="false: the adapter refuses orders and subscriptions")
    index: int = Field(ge=0, le=7, description="venue number on the hot path (0 KRX, 1 NXT)")
    real_suffix: str = Field(description='real-time/order code suffix: "" KRX, "_NX", "_AL"')
    subscribe_quotes: bool = Field(True, description="register this venue's quotes")
    order_types: OrderTypes
    hoga: dict[Style, str] = Field(description="sHogaGb (거래구분) per order style")
    price_zero: tuple[Style, ...] = Field(
        description="styles sent with nPrice 0 (market-type hoga, midpoint)")

    @field_validator("hoga")
    @classmethod
    def _hoga_codes(cls, v: dict[str, str]) -> dict[str, str]:
        for style, code in v.items():
            if not _HOGA.match(code):
                raise ValueError(f"hoga code for {style!r} must be two digits, got {code!r}")
        return v

    @model_validator(mode="after")
    def _zero_styles_known(self) -> "VenueSpec":
        unknown = [s for s in self.price_zero if s not in self.hoga]
        if unknown:
            raise ValueError(f"price_zero lists styles without a hoga code: {unknown}")
        return self


class Screens(Strict):
    market_data: tuple[str, ...] = Field(
        min_length=1, description="screens for quote shards, used in order (4-digit strings)")
    order: str = Field(description="screen passed to SendOrder")
    order_rotation: tuple[str, ...] = Field(
        (), max_length=50, description="more order screens, used in turn after `order`: Chejan "
        "carries the screen (FID 920), so an order whose TR ack was lost is told apart by it")
    session: str = Field(description="screen for market-wide 장시작시간 / VI registrations")
    query: str = Field("5950", description="screen for the account TRs (opw00018, opt10075)")
    codes_per_screen: int = Field(100, ge=1, le=100, description="≤100 codes per screen")

    @property
    def order_screens(self) -> tuple[str, ...]:
        return (self.order, *self.order_rotation)

    @model_validator(mode="after")
    def _valid(self) -> "Screens":
        all_screens = [*self.market_data, *self.order_screens, self.session, self.query]
        for s in all_screens:
            if not _SCREEN.match(s) or s == "0000":
                raise ValueError(f"screen numbers are 4 digits and not '0000', got {s!r}")
        if len(set(all_screens)) != len(all_screens):
            raise ValueError("screen numbers must be distinct")
        if len(all_screens) > 200:
            raise ValueError("the control supports at most 200 screens")
        return self


class RealFids(Strict):
    """FIDs passed to SetRealReg; registering any FID of a real type delivers the whole type."""

    quote: tuple[int, ...] = Field(min_length=1, max_length=100, description="주식호가잔량")
    trade: tuple[int, ...] = Field((), max_length=100, description="주식체결 (optional)")
    session: tuple[int, ...] = Field(min_length=1, max_length=100, description="장시작시간")
    vi: tuple[int, ...] = Field((), max_length=100, description="VI발동/해제")


class LoginSpec(Strict):
    show_account_window: bool = Field(
        False, description='call KOA_Functions("ShowAccountWindow", "") after login')


class ChejanSpec(Strict):
    fee_tax: Literal["cumulative_per_order", "per_fill"] = Field(
        "cumulative_per_order", description="whether FID 938/939 accumulate over an order's fills")


class Assumption(Strict):
    id: str
    text: str
    source: str | None = None


class VenueMapConfig(Strict):
    venues: dict[VenueName, VenueSpec]
    cancel_hoga: str = Field("00", description="sHogaGb sent with cancels (ignored by the broker)")
    screens: Screens
    real_fids: RealFids
    login: LoginSpec = LoginSpec()
    chejan: ChejanSpec = ChejanSpec()
    assumptions: tuple[Assumption, ...] = ()

    _suffixes: list[tuple[str, str]] = PrivateAttr(default_factory=list)
    _order_types: dict[int, tuple[str, str, str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "VenueMapConfig":
        idx = [v.index for v in self.venues.values()]
        if len(set(idx)) != len(idx):
            raise ValueError("venue index values must be distinct")
        sfx = [v.real_suffix for v in self.venues.values()]
        if len(set(sfx)) != len(sfx):
            raise ValueError("venue real_suffix values must be distinct")
        if "KRX" not in self.venues:
            raise ValueError("the KRX venue is required")
        self._order_types = _order_table(self.venues)
        self._suffixes = sorted(((v.real_suffix, k) for k, v in self.venues.items()),
                                key=lambda t: -len(t[0]))
        return self

    # --- helpers used by the adapter and the emulator ---
    def spec(self, venue: str) -> VenueSpec:
        try:
            return self.venues[venue]  # type: ignore[index]
        except KeyError:
            raise ValueError(f"unknown venue {venue!r}") from None

    def order_type(self, venue: str, side: str) -> int:
        ot = self.spec(venue).order_types
        return ot.buy if side == "buy" else ot.sell

    def cancel_type(self, venue: str, side: str) -> int:
        ot = self.spec(venue).order_types
        return ot.cancel_buy if side == "buy" else ot.cancel_sell

    def hoga(self, venue: str, style: str) -> str:
        spec = self.spec(venue)
        try:
            return spec.hoga[style]  # type: ignore[index]
        except KeyError:
            raise ValueError(f"venue {venue} has no order style {style!r}") from None

    def needs_zero_price(self, venue: str, style: str) -> bool:
        return style in self.spec(venue).price_zero

    def real_code(self, code: str, venue: str) -> str:
        return code + self.spec(venue).real_suffix

    def split_real_code(self, key: str) -> tuple[str, str]:
        """``"005930_NX"`` -> ``("005930", "NXT")``; the longest matching suffix wins."""
        for sfx, name in self._suffixes:
            if not sfx:
                return key, name
            if key.endswith(sfx):
                return key[: -len(sfx)], name
        return key, "KRX"

    def decode_order_type(self, n: int) -> tuple[str, str, str] | None:
        """``nOrderType`` -> (venue, action 'new'|'cancel'|'modify', side 'buy'|'sell'|'any')."""
        return self._order_types.get(n)

    def decode_hoga(self, venue: str, code: str) -> str | None:
        for style, c in self.spec(venue).hoga.items():
            if c == code:
                return style
        return None

    def quote_venues(self) -> list[str]:
        """Enabled venues whose quotes are registered, in index order."""
        return [k for k, v in sorted(self.venues.items(), key=lambda kv: kv[1].index)
                if v.enabled and v.subscribe_quotes]


def _order_table(venues: dict[VenueName, VenueSpec]) -> dict[int, tuple[str, str, str]]:
    """nOrderType -> (venue, action, side); a code shared by both sides decodes to 'any'."""
    table: dict[int, tuple[str, str, str]] = {}
    for name, v in venues.items():
        ot = v.order_types
        for action, side, n in (("new", "buy", ot.buy), ("new", "sell", ot.sell),
                                ("cancel", "buy", ot.cancel_buy), ("cancel", "sell", ot.cancel_sell),
                                ("modify", "buy", ot.modify_buy), ("modify", "sell", ot.modify_sell)):
            prev = table.get(n)
            if prev is not None and prev[:2] != (name, action):
                raise ValueError(f"nOrderType {n} is used for {prev[:2]} and {(name, action)}")
            table[n] = (name, action, side if prev is None else "any")
    return table
