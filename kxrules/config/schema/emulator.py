"""The emulator profile (``config/sim/*.yaml``), validated with :class:`EmulatorConfig` (loaded by
``kxrules.broker.emulator.config.load_emulator_config``).

Everything random is drawn from numpy Generators derived from ``seed``; same seed and same
inputs give the same event stream.
"""
from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from ...market import Venue
from ...seoul import parse_hms
from .common import Strict


# --- latency distributions ---
class FixedLatency(Strict):
    dist: Literal["fixed"]
    ms: float = Field(ge=0)


class LognormalLatency(Strict):
    """Log-normal given by its median and 99th percentile (sigma = ln(p99/median) / 2.326)."""

    dist: Literal["lognormal"]
    median_ms: float = Field(gt=0)
    p99_ms: float = Field(gt=0)
    max_ms: float | None = Field(None, gt=0, description="optional hard cap")

    @model_validator(mode="after")
    def _order(self) -> "LognormalLatency":
        if self.p99_ms < self.median_ms:
            raise ValueError("p99_ms must be ≥ median_ms")
        return self

    @property
    def sigma(self) -> float:
        return math.log(self.p99_ms / self.median_ms) / 2.3263478740408408


class UniformLatency(Strict):
    dist: Literal["uniform"]
    low_ms: float = Field(ge=0)
    high_ms: float = Field(ge=0)

    @model_validator(mode="after")
    def _order(self) -> "UniformLatency":
        if self.high_ms < self.low_ms:
            raise ValueError("high_ms must be ≥ low_ms")
        return self


def dist(value: object) -> object:
    """The latency kind of raw or built input (named so in error messages)."""
    return value.get("dist") if isinstance(value, dict) else getattr(value, "dist", None)


# Chosen by `dist` through a callable: a field discriminator may not carry the before-validator
# every Strict field has (numbers written as numbers).
Latency = Annotated[Union[Annotated[FixedLatency, Tag("fixed")], Annotated[LognormalLatency, Tag("lognormal")],
                          Annotated[UniformLatency, Tag("uniform")]], Discriminator(dist)]


def _fixed(ms: float) -> FixedLatency:
    return FixedLatency(dist="fixed", ms=ms)


class Latencies(Strict):
    login: Latency = Field(default_factory=lambda: _fixed(50), description="CommConnect→OnEventConnect")
    tr_ack: Latency = Field(default_factory=lambda: _fixed(20), description="send→OnReceiveTrData")
    accept: Latency = Field(default_factory=lambda: _fixed(25), description="send→Chejan 접수")
    match: Latency = Field(default_factory=lambda: _fixed(5), description="send→order at the matcher")
    fill: Latency = Field(default_factory=lambda: _fixed(10), description="match→Chejan 체결")
    cancel: Latency = Field(default_factory=lambda: _fixed(25), description="cancel send→확인")
    real_data: Latency = Field(default_factory=lambda: _fixed(5), description="quote→OnReceiveRealData")
    query: Latency = Field(default_factory=lambda: _fixed(40), description="CommRqData→OnReceiveTrData")


class FillOdds(Strict):
    take_full: float = Field(1.0, ge=0, le=1, description="P(a take at the displayed top fills fully)")
    take_partial: float = Field(0.0, ge=0, le=1, description="P(it fills partially); rest: misses")
    mid_fill_rate_per_s: float = Field(
        0.5, ge=0, description="resting NXT midpoint order: fill intensity per second")

    @model_validator(mode="after")
    def _sum(self) -> "FillOdds":
        if self.take_full + self.take_partial > 1 + 1e-12:
            raise ValueError("take_full + take_partial must be ≤ 1")
        return self


class Reorder(Strict):
    msg_before_tr: float = Field(0.0, ge=0, le=1, description="OnReceiveMsg before OnReceiveTrData")
    chejan_before_tr: float = Field(0.0, ge=0, le=1, description="Chejan 접수 before TrData")
    balance_before_fill: float = Field(0.0, ge=0, le=1, description="gubun 1 before its 체결")


class ViSchedule(Strict):
    code: str
    at: str = Field(description="HH:MM:SS KST")
    duration_s: float = Field(120, gt=0)

    @field_validator("at")
    @classmethod
    def _t(cls, v: str) -> str:
        parse_hms(v)
        return v


class Faults(Strict):
    reject_rate: float = Field(0.0, ge=0, le=1, description="broker rejects (empty 주문번호 + Msg)")
    exchange_reject_rate: float = Field(0.0, ge=0, le=1, description="Chejan 거부 after 접수")
    tr_ack_drop_rate: float = Field(0.0, ge=0, le=1, description="TrData+Msg never delivered")
    tr_ack_late_rate: float = Field(0.0, ge=0, le=1)
    tr_ack_late_ms: float = Field(500, ge=0, description="extra delay of a late TrData")
    chejan_late_rate: float = Field(0.0, ge=0, le=1, description="a gubun-0 event delayed")
    chejan_late_ms: float = Field(300, ge=0)
    duplicate_chejan_rate: float = Field(0.0, ge=0, le=1, description="a 체결 delivered twice")
    chejan_drop_rate: float = Field(0.0, ge=0, le=1,
                                    description="an order Chejan (접수, 체결, 확인) never delivered, as in a "
                                                "network drop; the balance Chejan and the account TRs still tell")
    query_drop_rate: float = Field(0.0, ge=0, le=1, description="an account TR reply never arrives")
    reorder: Reorder = Reorder()
    disconnect_at: str | None = Field(None, description="HH:MM:SS KST: the session drops")
    reconnect_after_s: float | None = Field(None, ge=0, description="login possible again after")
    vi: tuple[ViSchedule, ...] = ()

    @field_validator("disconnect_at")
    @classmethod
    def _t(cls, v: str | None) -> str | None:
        if v is not None:
            parse_hms(v)
        return v


class Fees(Strict):
    """What the emulated broker charges (FID 938/939), per fill."""

    commission_rate: float = Field(0.00015, ge=0, lt=0.05)
    commission_trunc_krw: int = Field(10, ge=1, description="commission truncated to this unit")
    tax_rate: dict[str, float] = Field(
        default_factory=lambda: {"KOSPI": 0.002, "KOSDAQ": 0.002},
        description="transaction tax on sells by listing market (2026: 0.20% both)")
    tax_trunc_krw: int = Field(1, ge=1)


class SessionStep(Strict):
    at: str = Field(description="HH:MM:SS KST")
    code: str = Field(min_length=1, max_length=1, description="FID 215 value")
    matching: bool = Field(description="continuous matching on after this signal")
    closing_auction: bool = Field(
        False, description="a call auction ends here: resting orders are matched once against the book")
    expire_resting: bool = Field(False, description="then cancel what still rests (Chejan 확인)")

    @field_validator("at")
    @classmethod
    def _t(cls, v: str) -> str:
        parse_hms(v)
        return v


def _default_sessions() -> dict[Venue, tuple[SessionStep, ...]]:
    """KRX holds the day's orders through the 15:20-15:30 closing auction; NXT's pre- and
    main-market orders stay live until 20:00 and trade again in the after-market from 15:40
    (domain notes: live-path-facts §5, krx-nxt-market §4)."""
    def s(at: str, code: str, matching: bool, *, auction: bool = False, expire: bool = False) -> SessionStep:
        return SessionStep(at=at, code=code, matching=matching, closing_auction=auction, expire_resting=expire)

    return {
        "KRX": (s("08:30:00", "0", False), s("09:00:00", "3", True),
                s("15:20:00", "2", False), s("15:30:00", "4", False, auction=True, expire=True),
                s("18:00:00", "9", False)),
        "NXT": (s("08:00:00", "P", False), s("08:50:00", "Q", False),
                s("09:00:30", "R", True), s("15:20:00", "S", False),
                s("15:30:00", "T", False), s("15:40:00", "U", True), s("16:00:00", "V", True),
                s("20:00:00", "W", False, expire=True)),
    }


class QueryWindow(Strict):
    """At most ``capacity`` CommRqData calls in any ``window_ms``; past it the call returns -200."""

    capacity: int = Field(ge=1)
    window_ms: int = Field(ge=1)


class MasterState(Strict):
    """What the broker's master data says of a code: OpenAPI+ ``GetMasterStockState`` (``|``-separated
    flags) and ``GetMasterConstruction`` (감리구분); the REST 종목정보 조회 (ka10100) answers the same
    ``state`` and an ``orderWarning`` code derived from the construction."""
    state: str = "증거금20%|담보대출|신용가능"
    construction: Literal["정상", "투자주의", "투자경고", "투자위험", "투자주의환기종목"] = "정상"


class EmulatorConfig(Strict):
    seed: int = Field(0, ge=0)
    account: str = Field("8000000011", pattern=r"^\d{8,11}$")
    user_id: str = "emulator"
    server_gubun: str = Field("1", description='GetServerGubun: "1" 모의투자 (paper), anything else 실거래 (real)')
    require_account_password: bool = Field(
        False, description="SendOrder returns -301 until ShowAccountWindow was called")
    cash_krw: int = Field(100_000_000, ge=0)
    holdings: dict[str, int] = Field(default_factory=dict, description="code -> shares at start")
    latency_ms: Latencies = Latencies()
    fill_odds: FillOdds = FillOdds()
    faults: Faults = Faults()
    fees: Fees = Fees()
    sessions: dict[Venue, tuple[SessionStep, ...]] = Field(
        default_factory=_default_sessions)
    names: dict[str, str] = Field(default_factory=dict, description="code -> name for FID 302")
    master: dict[str, MasterState] = Field(
        default_factory=dict, description="code -> the broker's master data (default: a clean name)")
    query_limits: tuple[QueryWindow, ...] = Field(
        default_factory=lambda: (QueryWindow(capacity=5, window_ms=1000),),
        description="TR query limits the server enforces (Kiwoom documents 5 per second)")

    @field_validator("holdings")
    @classmethod
    def _holdings(cls, v: dict[str, int]) -> dict[str, int]:
        for code, qty in v.items():
            if qty < 0:
                raise ValueError(f"holding of {code} is negative")
        return v
