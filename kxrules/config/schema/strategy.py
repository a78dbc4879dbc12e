"""rules/edge.yaml, rules/throttle.yaml, rules/risk.yaml."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...market import Venue
from .common import NonNegInt, PlainNumber, PositiveInt, Strict


class Parameters(Strict):
    """Per-symbol parameters; overrides may refine each of them for listed symbols.

    Bounds keep a typo from trading (and price x slice_qty x fee rate inside int64)."""

    slice_qty: int = Field(default=1, ge=1, le=1_000)
    edge_buffer_ticks: float = Field(default=1, ge=0, le=100)
    min_visible_qty: int = Field(default=1, ge=1, le=1_000_000)
    t_hedge_ms: int = Field(default=1000, ge=50, le=60_000)
    max_outstanding_pairs: int = Field(default=1, ge=1, le=10)


PARAMETER_NAMES = tuple(Parameters.model_fields)


class Rule(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)


class EdgeFile(Strict):
    batch_interval_ms: float = Field(default=0.5, ge=0.1, le=1000)
    cooldown_ms: int = Field(default=150, ge=0, le=3_600_000)
    reject_cooldown_ms: int = Field(default=250, ge=0, le=3_600_000)
    parameters: Parameters = Parameters()
    rules: list[Rule] = Field(min_length=1)


class OrderBudget(Strict):
    capacity: int = Field(default=5, ge=1, le=100)
    window_ms: int = Field(default=1000, ge=1, le=60_000)
    reserve_for_hedge: NonNegInt = 2
    min_free_to_start: NonNegInt = 4
    safety_margin_ms: int = Field(default=10, ge=0, le=500)   # widen our window against clock skew


class QueryWindow(Strict):
    capacity: int = Field(ge=1, le=10_000)
    window_ms: int = Field(ge=1000, le=86_400_000)


def _koapy_windows() -> list["QueryWindow"]:
    return [QueryWindow(capacity=c, window_ms=w) for c, w in
            ((5, 18_000), (25, 90_000), (50, 180_000), (1000, 3_600_000))]


class QueryBudget(Strict):
    """Account TRs (opw00018, opt10075): ``capacity`` per ``window_ms`` and every longer window."""

    capacity: PositiveInt = 5
    window_ms: PositiveInt = 1000
    longer: list[QueryWindow] = Field(default_factory=_koapy_windows)
    timeout_ms: int = Field(default=5000, ge=200, le=60_000)   # no reply by then: ask again later


class AutoPause(Strict):
    enabled: bool = True
    utilisation: float = Field(default=0.8, gt=0, le=10)
    sustain_ms: int = Field(default=5000, ge=1, le=600_000)


class ThrottleFile(Strict):
    orders: OrderBudget
    queries: QueryBudget = QueryBudget()
    auto_pause: AutoPause = AutoPause()


class EngineTimings(Strict):
    """The engine's own timers (ms, on the engine clock), declared so a risk owner can change them."""

    ack_ms: int = Field(default=200, ge=20, le=10_000)                  # no TR 주문번호 by then: rejected
    chejan_silence_ms: int = Field(default=300, ge=20, le=60_000)       # accepted, no Chejan 접수: stuck
    reconnect_ms: int = Field(default=5_000, ge=500, le=600_000)        # login retry after a disconnect
    flatten_retry_ms: int = Field(default=1_000, ge=100, le=60_000)     # first safety-net pause (doubles)
    ioc_outcome_ms: int = Field(default=1_000, ge=100, le=60_000)       # an IOC silent this long: ask the broker


class RiskFile(Strict):
    max_active_symbols: int = Field(default=2, ge=1, le=1_000)
    max_outstanding_pairs_per_symbol: int = Field(default=1, ge=1, le=10)
    inventory: Literal["none", "holdings"] = "none"
    max_daily_loss_krw: int = Field(default=50_000, ge=1, le=10_000_000_000)
    max_rejects_per_minute: int = Field(default=10, ge=1, le=300)     # Kiwoom takes 300 orders a minute
    max_unhedged_ms: int = Field(default=3000, ge=1, le=600_000)
    disarm_on_max_unhedged: bool = True          # past max_unhedged_ms: disarm (else only freeze the symbol)
    # per symbol: rejects freeze it for a while; the spike alert comes first
    reject_freeze_consecutive: int = Field(default=3, ge=1, le=100)
    reject_freeze_count: int = Field(default=5, ge=1, le=300)
    reject_freeze_window_ms: int = Field(default=60_000, ge=1_000, le=3_600_000)
    reject_freeze_ms: int = Field(default=60_000, ge=1_000, le=3_600_000)
    reject_spike_per_symbol: int = Field(default=3, ge=1, le=300)
    # per day: trips (pairs started) per symbol and entry notional (integer KRW)
    max_pairs_per_symbol_per_day: int = Field(default=20, ge=1, le=10_000)
    max_notional_per_symbol_krw: int = Field(default=10_000_000, ge=1, le=1_000_000_000_000)
    max_notional_per_day_krw: int = Field(default=100_000_000, ge=1, le=1_000_000_000_000)
    # broker truth: the broker's account decides what is held
    position_settle_ms: int = Field(default=2000, ge=100, le=60_000)
    max_orders_per_pair: int = Field(default=12, ge=2, le=100)
    max_flatten_orders: int = Field(default=6, ge=1, le=100)
    flatten_venue: Venue = "KRX"      # where the safety net sends its IOCs
    timings: EngineTimings = EngineTimings()


class OverridesFile(Strict):
    symbols: dict[str, dict[str, PlainNumber]] = {}     # names and bounds: checks/universe.py
