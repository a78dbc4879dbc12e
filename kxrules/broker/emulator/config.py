"""The emulator profile as the emulator uses it: its schema lives with the other workspace
files' (``config/schema/emulator.py``); here are the broker fee function it implies and the
file loader."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ...config.model_file import load_model_file
from ...config.schema.emulator import (EmulatorConfig, Fees, FillOdds, FixedLatency,
                                       LognormalLatency, MasterState, UniformLatency)

__all__ = ["EmulatorConfig", "FeeFn", "Fees", "FillOdds", "FixedLatency", "LognormalLatency",  # the emulator's names
           "MasterState", "UniformLatency", "default_fee_fn", "load_emulator_config"]


class FeeFn(Protocol):
    """``fee_fn(venue, side, price, qty, market, style) -> (fee, tax)`` in integer KRW. ``style``
    is the order's: a schedule can charge resting (maker) and taking orders differently, so
    the emulator always passes it (a flat schedule ignores it)."""

    def __call__(self, venue: str, side: str, price: int, qty: int, market: str,
                 style: str = "limit") -> tuple[int, int]: ...


def default_fee_fn(fees: Fees) -> FeeFn:
    """``fee_fn(venue, side, price, qty, market, style) -> (fee, tax)`` in integer KRW, truncated:
    one commission rate, whatever the style.

    Rates are turned into integer parts per 10^8 once, so the arithmetic is exact.
    """
    comm = round(fees.commission_rate * 100_000_000)
    tax = {m: round(r * 100_000_000) for m, r in fees.tax_rate.items()}
    ct, tt = fees.commission_trunc_krw, fees.tax_trunc_krw

    def fee_fn(venue: str, side: str, price: int, qty: int, market: str, style: str = "limit") -> tuple[int, int]:
        amount = price * qty
        fee = amount * comm // 100_000_000 // ct * ct
        t = amount * tax.get(market, 0) // 100_000_000 // tt * tt if side == "sell" else 0
        return fee, t

    return fee_fn


def load_emulator_config(path: str | Path) -> EmulatorConfig:
    """Load + validate one emulator profile outside a workspace; errors are ``ValueError``
    naming ``file:line:col``."""
    return load_model_file(path, EmulatorConfig, "the emulator profile")
