"""The synthetic market model (``config/sim/market.yaml``) as a strict pydantic v2 model.

Everything the generator in :mod:`kxrules.marketdata.synthetic` draws from is declared here, so a
risk owner can read and change the market a simulation runs against without touching code, and
``kxrules validate`` can lint the file like any other config (unknown keys are errors).
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from ...seoul import parse_hms
from .common import Strict

CHUNK_MS = 60_000  # the generator works one minute of all symbols at a time

Hms = Annotated[int, BeforeValidator(parse_hms)]
"""Seconds after midnight, written ``"HH:MM:SS"`` in YAML."""
Prob = Annotated[float, Field(ge=0.0, le=1.0)]
PosFloat = Annotated[float, Field(gt=0.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]


def _check_distribution(dist: dict[int, float], what: str, lo: int = 1) -> None:
    if not dist:
        raise ValueError(f"{what}: at least one value")
    if min(dist) < lo:
        raise ValueError(f"{what}: values must be >= {lo}, got {min(dist)}")
    if any(p < 0 for p in dist.values()):
        raise ValueError(f"{what}: probabilities must not be negative")
    total = sum(dist.values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what}: probabilities must sum to 1, they sum to {total:g}")


class Session(Strict):
    """A window in which a venue quotes (KST, end exclusive)."""

    name: str
    start: Hms
    end: Hms
    enabled: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> "Session":
        if self.end <= self.start:
            raise ValueError(f"session {self.name!r}: end must be after start")
        return self


class VenueModel(Strict):
    sessions: list[Session] = Field(min_length=1)
    updates_per_s: PosFloat
    """Top-of-book updates per second for a typical (median) symbol at intraday factor 1."""
    lag_ms: Annotated[float, Field(ge=0.0, le=2_000.0)] = 0.0
    """The venue quotes the latent price as it was this long ago."""
    noise_ticks: NonNegFloat = 0.0
    """Standard deviation of the venue's own, slowly varying offset from the latent, in ticks."""
    noise_tau_s: PosFloat = 5.0
    """Correlation time of that offset (an AR(1) sampled every ``noise_knot_ms``)."""
    noise_knot_ms: Annotated[int, Field(gt=0)] = 1_000
    spread_ticks: dict[int, Prob]
    """Distribution of the quoted spread in ticks."""
    spread_hold_ms: Annotated[int, Field(gt=0)] = 500
    """A drawn spread holds for this long (time buckets per symbol), so books do not flicker."""
    size_scale: PosFloat = 1.0
    """Top-of-book sizes on this venue relative to the symbol's median."""

    @model_validator(mode="after")
    def _check(self) -> "VenueModel":
        _check_distribution(self.spread_ticks, "spread_ticks")
        if CHUNK_MS % self.noise_knot_ms:
            raise ValueError(f"noise_knot_ms must divide {CHUNK_MS}")
        live = sorted((s.start, s.end, s.name) for s in self.sessions if s.enabled)
        for (_, e1, n1), (s2, _, n2) in zip(live, live[1:]):
            if s2 < e1:
                raise ValueError(f"sessions {n1!r} and {n2!r} overlap")
        return self

    def windows(self) -> list[tuple[int, int]]:
        """Enabled sessions as sorted (start, end) seconds of day."""
        return sorted((s.start, s.end) for s in self.sessions if s.enabled)


class Venues(Strict):
    KRX: VenueModel
    NXT: VenueModel


class LatentModel(Strict):
    step_ms: Annotated[int, Field(gt=0, le=CHUNK_MS)] = 100
    vol_bp_per_sqrt_min: PosFloat = 12.0
    vol_symbol_sigma: NonNegFloat = 0.35
    price_limit_pct: Annotated[float, Field(gt=0.0, lt=100.0)] = 30.0

    @model_validator(mode="after")
    def _check(self) -> "LatentModel":
        if CHUNK_MS % self.step_ms:
            raise ValueError(f"step_ms must divide {CHUNK_MS}")
        return self


class ProfileKnot(Strict):
    at: Hms
    factor: NonNegFloat


class ActivityModel(Strict):
    rate_symbol_sigma: NonNegFloat = 0.4
    intraday_profile: list[ProfileKnot] = Field(default_factory=list)
    """Multiplier on update rates, linear between knots and flat outside; empty = 1 all day."""

    @model_validator(mode="after")
    def _check(self) -> "ActivityModel":
        times = [k.at for k in self.intraday_profile]
        if times != sorted(set(times)):
            raise ValueError("intraday_profile times must be strictly increasing")
        return self


class SizeModel(Strict):
    median_shares_at_100k: PosFloat = 3_000.0
    price_elasticity: NonNegFloat = 0.7
    liquidity_symbol_sigma: NonNegFloat = 0.6
    liquidity_overrides: dict[str, PosFloat] = Field(default_factory=dict)
    level_sigma: NonNegFloat = 0.45
    slow_sigma: NonNegFloat = 0.25
    slow_tau_s: PosFloat = 30.0
    slow_knot_ms: Annotated[int, Field(gt=0)] = 2_000
    update_sigma: NonNegFloat = 0.05

    @model_validator(mode="after")
    def _check(self) -> "SizeModel":
        if CHUNK_MS % self.slow_knot_ms:
            raise ValueError(f"slow_knot_ms must divide {CHUNK_MS}")
        bad = [c for c in self.liquidity_overrides if not re.fullmatch(r"[0-9A-Z]{6}", c)]
        if bad:
            raise ValueError(f"liquidity_overrides: {bad[0]!r} is not a 6-character code")
        return self


class DurationModel(Strict):
    median_ms: PosFloat = 120.0
    sigma: NonNegFloat = 0.8
    min_ms: PosFloat = 20.0
    max_ms: PosFloat = 1_000.0

    @model_validator(mode="after")
    def _check(self) -> "DurationModel":
        if not self.min_ms <= self.median_ms <= self.max_ms:
            raise ValueError("need min_ms <= median_ms <= max_ms")
        return self


class GapModel(Strict):
    per_symbol_minute: NonNegFloat = 0.5
    symbol_sigma: NonNegFloat = 0.5
    ticks: dict[int, Prob] = Field(default_factory=lambda: {1: 0.55, 2: 0.25, 3: 0.12, 4: 0.08})
    duration: DurationModel = DurationModel()
    nxt_moves_share: Prob = 0.6
    size_fraction: PosFloat = 0.03
    size_sigma: NonNegFloat = 0.8

    @model_validator(mode="after")
    def _check(self) -> "GapModel":
        _check_distribution(self.ticks, "gaps.ticks")
        return self


class SyntheticMarketConfig(Strict):
    """``config/sim/market.yaml``: the declared synthetic market (see the file's comments)."""

    version: Literal[1] = 1
    latent: LatentModel = LatentModel()
    activity: ActivityModel = ActivityModel()
    venues: Venues
    sizes: SizeModel = SizeModel()
    gaps: GapModel = GapModel()

    def intraday_factor(self, seconds_of_day: float) -> float:
        knots = self.activity.intraday_profile
        if not knots:
            return 1.0
        xs = [k.at for k in knots]
        ys = [k.factor for k in knots]
        if seconds_of_day <= xs[0]:
            return ys[0]
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if seconds_of_day <= x1:
                return y0 + (y1 - y0) * (seconds_of_day - x0) / (x1 - x0)
        return ys[-1]

    def max_lag_ms(self) -> float:
        return max(self.venues.KRX.lag_ms, self.venues.NXT.lag_ms)
