"""rules/edge.yaml, rules/throttle.yaml, rules/risk.yaml."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import NonNegInt, PositiveInt, Strict


class Parameters(Strict):
    """Per-symbol parameters; overrides may refine each of them for listed symbols."""

    slice_qty: PositiveInt = 1
    edge_buffer_ticks: float = Field(default=1, ge=0, le=100)
    min_visible_qty: PositiveInt = 1
    t_hedge_ms: int = Field(default=1000, ge=50, le=60_000)
    max_outstanding_pairs: int = Field(default=1, ge=1, le=10)


PARAMETER_NAMES = tuple(Parameters.model_fields)


class Rule(Strict):
    name: str = Field(min_length=1)
    when: str = Field(min_length=1)


class EdgeFile(Strict):
    batch_interval_ms: int = Field(default=10, ge=1, le=1000)
    cooldown_ms: NonNegInt = 150
    reject_cooldown_ms: NonNegInt = 250
    parameters: Parameters = Parameters()
    rules: list[Rule] = Field(min_length=1)


class OrderBudget(Strict):
    capacity: PositiveInt = 5
    window_ms: PositiveInt = 1000
    reserve_for_hedge: NonNegInt = 2
    min_free_to_start: NonNegInt = 4
    safety_margin_ms: int = Field(default=10, ge=0, le=500)   # widen our window against clock skew


class QueryBudget(Strict):
    capacity: PositiveInt = 5
    window_ms: PositiveInt = 1000


class AutoPause(Strict):
    enabled: bool = True
    utilisation: float = Field(default=0.8, gt=0)
    sustain_ms: PositiveInt = 5000


class ThrottleFile(Strict):
    orders: OrderBudget
    queries: QueryBudget = QueryBudget()
    auto_pause: AutoPause = AutoPause()


class RiskFile(Strict):
    max_active_symbols: PositiveInt = 2
    max_outstanding_pairs_per_symbol: PositiveInt = 1
    inventory: Literal["none", "holdings"] = "none"
    max_daily_loss_krw: PositiveInt = 50_000
    max_rejects_per_minute: PositiveInt = 10
    max_unhedged_ms: PositiveInt = 3000


class OverridesFile(Strict):
    symbols: dict[str, dict[str, float | int]] = {}
