"""Fees and tax in integer won: rounding modes, the period in force, KOSPI's two truncated taxes,
and the vectorised form used by the rule evaluator."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.config.diagnostics import Diagnostics
from kxrules.money import RATE_SCALE
from kxrules.config.schema.money import FeesFile, TaxFile
from kxrules.config.yaml_loader import load_yaml
from kxrules.market import MARKETS
from kxrules.money.fees import Component, CostModel, CoverageError, break_even_ticks
from kxrules.money.ticks import round_to_tick, tick_size

from ..conftest import REPO

DAY = dt.date(2026, 8, 12)


def _shipped(name: str, model):
    doc = load_yaml(REPO / "rules" / name, Diagnostics(REPO))
    assert doc is not None
    return model.model_validate(doc.data)


@pytest.fixture(scope="module")
def fees() -> FeesFile:
    return _shipped("fees.yaml", FeesFile)


@pytest.fixture(scope="module")
def tax() -> TaxFile:
    return _shipped("tax.yaml", TaxFile)


@pytest.fixture(scope="module")
def model(fees, tax) -> CostModel:
    return CostModel(fees, tax, DAY)


def pct(text: str) -> int:
    """'0.015' percent as an integer rate in 1e-10 units."""
    from decimal import Decimal

    return int(Decimal(text) * (RATE_SCALE // 100))


# --- one component -------------------------------------------------------------------------

@pytest.mark.parametrize("mode, unit, notional, expected", [
    # 239,500 × 0.015 % = 35.925
    ("floor", 10, 239_500, 30), ("ceil", 10, 239_500, 40), ("round_half_up", 10, 239_500, 40),
    ("floor", 1, 239_500, 35), ("ceil", 1, 239_500, 36), ("round_half_up", 1, 239_500, 36),
    ("floor", 100, 239_500, 0), ("ceil", 100, 239_500, 100), ("round_half_up", 100, 239_500, 0),
    # 100,000 × 0.015 % = 15 exactly: every mode agrees
    ("floor", 1, 100_000, 15), ("ceil", 1, 100_000, 15), ("round_half_up", 1, 100_000, 15),
    # exactly half a unit: 100,000 × 0.015 % = 15 -> to 10 won: 10 / 20 / 20
    ("floor", 10, 100_000, 10), ("ceil", 10, 100_000, 20), ("round_half_up", 10, 100_000, 20),
    # just below half: 99,999 × 0.015 % = 14.99985 -> 10 / 20 / 10
    ("floor", 10, 99_999, 10), ("ceil", 10, 99_999, 20), ("round_half_up", 10, 99_999, 10),
    ("floor", 1, 0, 0), ("ceil", 1, 0, 0), ("round_half_up", 1, 0, 0),
])
def test_component_rounding(mode, unit, notional, expected):
    c = Component("broker_commission", pct("0.015"), unit, mode)
    assert c.amount(notional) == expected


def test_component_is_exact_on_large_notionals():
    # 0.0036396 % of ₩98,765,432,100 = 3,594,666.6667... -> floor 3,594,666, in integers only
    c = Component("venue", pct("0.0036396"), 1, "floor")
    assert c.amount(98_765_432_100) == 3_594_666
    c = Component("x", pct("0.00000001"), 1, "ceil")        # the finest rate: 1e-10
    assert c.amount(1) == 1 and Component("x", pct("0.00000001"), 1, "floor").amount(10**10 - 1) == 0


# --- the period in force -------------------------------------------------------------------

def test_shipped_rates_in_force_on_the_run_date(model):
    d = model.describe()
    assert d["date"] == "2026-08-12"
    assert [c["rate_pct"] for c in d["fees"]["KRX/buy/taker"]] == ["0.015", "0.0036396"]
    assert [c["rate_pct"] for c in d["fees"]["NXT/sell/maker"]] == ["0.0145", "0.0027033"]
    assert [(c["name"], c["rate_pct"]) for c in d["tax"]["KOSPI"]] == [
        ("securities_transaction_tax", "0.05"), ("rural_special_tax", "0.15")]
    assert [c["rate_pct"] for c in d["tax"]["KOSDAQ"]] == ["0.2"]


@pytest.mark.parametrize("day, taker, maker", [
    (dt.date(2025, 12, 14), "0.0036396", "0.0036396"),   # last day before the cut
    (dt.date(2025, 12, 15), "0.0031833", "0.0027033"),   # the temporary maker/taker cut
    (dt.date(2026, 2, 13), "0.0031833", "0.0027033"),
    (dt.date(2026, 2, 14), "0.0036396", "0.0036396"),    # back to the all-in rate
])
def test_cost_model_picks_the_krx_venue_fee_in_force(fees, tax, day, taker, maker):
    d = CostModel(fees, tax, day).describe()["fees"]
    assert d["KRX/buy/taker"][1]["rate_pct"] == taker
    assert d["KRX/sell/maker"][1]["rate_pct"] == maker


@pytest.mark.parametrize("day, kospi, kosdaq", [
    (dt.date(2024, 12, 26), 0 + 30 + 150, 180),     # 0.03 % + 0.15 %, KOSDAQ 0.18 % (per ₩100,000)
    (dt.date(2024, 12, 27), 0 + 0 + 150, 150),      # 2025 rates from the T+2 settlement date
    (dt.date(2025, 12, 28), 150, 150),
    (dt.date(2025, 12, 29), 50 + 150, 200),         # 2026 rates
])
def test_cost_model_picks_the_tax_period_in_force(fees, tax, day, kospi, kosdaq):
    m = CostModel(fees, tax, day)
    assert m.tax("KOSPI", "sell", 100_000, 1) == kospi
    assert m.tax("KOSDAQ", "sell", 100_000, 1) == kosdaq


def test_no_tax_on_buys(model):
    assert model.tax("KOSPI", "buy", 239_500, 10) == 0


def test_kospi_tax_is_two_components_each_truncated(model):
    # ₩1,700: 0.05 % = 0.85 -> 0 and 0.15 % = 2.55 -> 2: ₩2, where one 0.20 % rate would give 3.4 -> 3
    assert model.tax("KOSPI", "sell", 1_700, 1) == 2
    # KOSDAQ is a single 0.20 % component: 3.4 -> 3
    assert model.tax("KOSDAQ", "sell", 1_700, 1) == 3
    # 240,000: 120 + 360 (exact)
    assert model.tax("KOSPI", "sell", 240_000, 1) == 480


def test_round_trip_cost_of_005930_at_one_tick(model):
    # see tests/config/test_shipped.py for the derivation: 30 + 8 + 30 + 7 + 480
    assert model.fee("KRX", "buy", 239_500, 1) == 38
    assert model.fee("NXT", "sell", 240_000, 1) == 37
    assert model.round_trip_cost("KOSPI", "KRX", 239_500, "NXT", 240_000, 1) == 555
    assert break_even_ticks(model, "KOSPI", 239_500, tick_size) == 2


def test_maker_and_taker_fees_differ_on_nxt(model):
    # 10,000,000 notional: regulatory 0.0031833 % = 318 (taker) vs 0.0027033 % = 270 (maker)
    assert model.fee("NXT", "sell", 100_000, 100, "taker") - model.fee("NXT", "sell", 100_000, 100, "maker") == 318 - 270


def test_uncovered_date_raises_coverage_error(fees, tax):
    m = CostModel(fees, tax, dt.date(2023, 6, 1))
    with pytest.raises(CoverageError):
        m.fee("KRX", "buy", 10_000, 1)
    with pytest.raises(CoverageError):
        m.tax("KOSPI", "sell", 10_000, 1)


# --- vectorised == scalar ------------------------------------------------------------------

prices = st.integers(min_value=1, max_value=3_000_000).map(round_to_tick)


@given(st.lists(st.tuples(prices, prices, st.integers(min_value=1, max_value=2_000), st.sampled_from(MARKETS),
                          st.sampled_from([0, 1])), min_size=1, max_size=50),
       st.sampled_from(["taker", "maker"]),
       st.sampled_from([DAY, dt.date(2026, 1, 15), dt.date(2025, 6, 2)]))
@settings(max_examples=200, deadline=None)
def test_cost_tables_equal_the_ledger_round_trip_cost(fees, tax, trades, sell_liquidity, day):
    """The rule evaluator's vectorised cost is, candidate by candidate, what the ledger books."""
    from kxrules.market import VENUES
    from kxrules.rules.variables import CostTables

    m = CostModel(fees, tax, day)
    market_idx = np.array([MARKETS.index(t[3]) for t in trades], dtype=np.int64)
    tables = CostTables(m, market_idx, sell_liquidity=sell_liquidity)
    direction = np.array([t[4] for t in trades], dtype=np.int64)
    sym = np.arange(len(trades))
    buy = np.array([t[0] * t[2] for t in trades], dtype=np.int64)
    sell = np.array([t[1] * t[2] for t in trades], dtype=np.int64)
    vec = tables.cost(direction, sym, buy, sell)
    assert vec.dtype == np.int64
    assert vec.tolist() == [
        m.round_trip_cost(mk, VENUES[d], bp, VENUES[1 - d], sp, q, sell_liq=sell_liquidity)
        for bp, sp, q, mk, d in trades]
