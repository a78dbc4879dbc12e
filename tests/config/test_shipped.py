"""The shipped workspace validates clean, and its economics match costs computed by hand.

Hand computations use the shipped tables in force on 2026-08-12 (a Wednesday):

* broker commission: KRX 0.015 %, NXT 0.0145 %, both floored to 10 won;
* KRX venue fees (trading + clearing + KSD) 0.0036396 %, floored to the won
  (the temporary maker/taker cut ended 2026-02-13);
* NXT regulatory fees, taker 0.0031833 %, floored to the won;
* sell tax: KOSPI 0.05 % securities transaction tax + 0.15 % rural special tax, each floored
  to the won; KOSDAQ 0.20 % floored (the rates in force from 2025-12-29).

Every economics row is the worst of the two directions (buy KRX / sell NXT and the reverse);
both directions are computed below and happen to agree for these symbols.
"""
from __future__ import annotations

import datetime as dt

import pytest

from kxrules.config.compile import compile_profile
from kxrules.config.diagnostics import ConfigError
from kxrules.money.fees import CostModel, break_even_ticks
from kxrules.money.ticks import tick_size

from ..conftest import RUN_DATE


def _rows(ws):
    ws.check()
    assert ws.result is not None and ws.result.economics is not None
    return {r.code: r for r in ws.result.economics.rows}


def test_shipped_pilot_profile_has_no_errors_or_warnings(ws):
    found = ws.check("pilot")
    assert found == set(), [d.format() for d in ws.diags.items]


def test_shipped_sim_profile_has_no_errors_or_warnings(ws):
    found = ws.check("sim")
    assert found == set(), [d.format() for d in ws.diags.items]


@pytest.mark.parametrize("day", [
    dt.date(2026, 1, 2),     # late open (first trading day of the year)
    dt.date(2026, 2, 13),    # last day of KRX's temporary maker/taker fee cut
    dt.date(2026, 2, 19),    # first trading day after it (and after 설날)
    dt.date(2026, 12, 30),   # last trading day of the calendar year
])
def test_shipped_pilot_validates_across_fee_periods(ws, day):
    ws.check("pilot", day)
    assert not ws.diags.errors, [d.format() for d in ws.diags.errors]
    assert ws.result.economics is not None


def test_economics_005930_kospi_500_won_tick(ws):
    # 삼성전자 005930, KOSPI, ref ₩239,500 (tick 500), 1 share.
    # Buy KRX at 239,500 / sell NXT at 240,000 (1 tick):
    #   KRX commission 239,500 × 0.015 %    =  35.925  -> floor to 10 won -> 30
    #   KRX venue fees 239,500 × 0.0036396 % =   8.717  -> floor           ->  8
    #   NXT commission 240,000 × 0.0145 %   =  34.8    -> floor to 10 won -> 30
    #   NXT regulatory 240,000 × 0.0031833 % =   7.64   -> floor           ->  7
    #   tax 240,000 × 0.05 % = 120, × 0.15 % = 360                        -> 480
    #   cost = 30 + 8 + 30 + 7 + 480 = 555 > 500 gross: 1 tick loses ₩55.
    # Reverse (buy NXT 239,500 / sell KRX 240,000): 34.7->30, 7.62->7, 36->30, 8.73->8, 480 = 555.
    # 2 ticks (sell 240,500): 30 + 8 + 34.87->30 + 7.65->7 + 120.25->120 + 360.75->360 = 555,
    #   gross 1,000 -> net +445: break-even 2 ticks.
    # The rule asks net_edge_ticks >= 1 (net >= ₩500): 3 ticks (sell 241,000):
    #   KRX->NXT 30+8+34.9->30+7.67->7+120.5->120+361.5->361 = 556 -> net 944;
    #   NXT->KRX 34.7->30 + 7.62->7 + 36.15->30 + 8.77->8 + 481 = 556 -> net 944.
    r = _rows(ws)["005930"]
    assert (r.market, r.ref_price, r.tick, r.slice_qty) == ("KOSPI", 239_500, 500, 1)
    assert r.cost_krw_1tick == 555
    assert r.break_even_ticks == 2
    assert (r.rule_min_ticks, r.rule_net_krw) == (3, 944)


def test_economics_001060_kospi_50_won_tick(ws):
    # JW중외제약 001060, KOSPI, ref ₩26,250 (tick 50). Buy KRX 26,250 / sell NXT 26,300:
    #   commissions 3.94 and 3.81 -> floor to 10 won -> 0 and 0
    #   KRX venue 0.955 -> 0, NXT regulatory 0.837 -> 0
    #   tax 26,300 × 0.05 % = 13.15 -> 13, × 0.15 % = 39.45 -> 39 -> 52
    #   cost 52 > gross 50: 1 tick loses ₩2. Reverse direction: all fees 0 too, tax 52.
    # 2 ticks (sell 26,350): tax 13.175->13 + 39.525->39 = 52, gross 100 -> net 48: break-even 2.
    # Rule (net >= 1 tick = ₩50): 3 ticks (sell 26,400): tax 13.2->13 + 39.6->39 = 52 -> net 98.
    r = _rows(ws)["001060"]
    assert (r.market, r.ref_price, r.tick) == ("KOSPI", 26_250, 50)
    assert r.cost_krw_1tick == 52
    assert r.break_even_ticks == 2
    assert (r.rule_min_ticks, r.rule_net_krw) == (3, 98)


def test_economics_025900_kosdaq_10_won_tick(ws):
    # 동화기업 025900, KOSDAQ, ref ₩7,770 (tick 10). Buy KRX 7,770 / sell NXT 7,780:
    #   commissions 1.17 / 1.13 -> 0 / 0; venue 0.28 -> 0; regulatory 0.25 -> 0
    #   KOSDAQ tax 7,780 × 0.20 % = 15.56 -> 15
    #   cost 15 > gross 10: 1 tick loses ₩5. 2 ticks (7,790): tax 15.58 -> 15, net +5: break-even 2.
    # Rule (net >= ₩10): 3 ticks (7,800): tax 15.6 -> 15, net 30 - 15 = 15.
    r = _rows(ws)["025900"]
    assert (r.market, r.ref_price, r.tick) == ("KOSDAQ", 7_770, 10)
    assert r.cost_krw_1tick == 15
    assert r.break_even_ticks == 2
    assert (r.rule_min_ticks, r.rule_net_krw) == (3, 15)


def test_economics_000660_kospi_1000_won_tick_with_override(ws):
    # SK하이닉스 000660, KOSPI, ref ₩1,425,000 (tick 1,000); overrides ask edge_buffer_ticks 2.
    # Buy KRX 1,425,000 / sell NXT 1,426,000:
    #   KRX commission 213.75 -> 210; KRX venue 51.86 -> 51
    #   NXT commission 206.77 -> 200; NXT regulatory 45.39 -> 45
    #   tax 1,426,000 × 0.05 % = 713, × 0.15 % = 2,139 -> 2,852
    #   cost = 210 + 51 + 200 + 45 + 2,852 = 3,358
    # Reverse: NXT 206.63 -> 200 + 45.36 -> 45, KRX 213.9 -> 210 + 51.90 -> 51, tax 2,852 = 3,358.
    # 3 ticks: gross 3,000 < ~3,360. 4 ticks (sell 1,429,000): 210 + 51 + 207.2->200 + 45.49->45
    #   + 714.5->714 + 2,143.5->2,143 = 3,363 -> net +637: break-even 4.
    # Rule (net >= 2 ticks = ₩2,000): 5 ticks nets ~1,634; 6 ticks (sell 1,431,000):
    #   KRX->NXT 210 + 51 + 207.5->200 + 45.55->45 + 715.5->715 + 2,146.5->2,146 = 3,367 -> 2,633
    #   NXT->KRX 206.6->200 + 45.36->45 + 214.65->210 + 52.08->52 + 2,861 = 3,368 -> 2,632 (worst)
    r = _rows(ws)["000660"]
    assert (r.market, r.ref_price, r.tick) == ("KOSPI", 1_425_000, 1_000)
    assert r.cost_krw_1tick == 3_358
    assert r.break_even_ticks == 4
    assert (r.rule_min_ticks, r.rule_net_krw) == (6, 2_632)


def test_economics_rows_agree_with_the_scalar_cost_model(ws):
    """The vectorised probe and the ledger's scalar CostModel agree for every shipped symbol."""
    rows = _rows(ws)
    models = ws.loaded.models
    cost = CostModel(models["fees"], models["tax"], RUN_DATE)
    for r in rows.values():
        tick = tick_size(r.ref_price)
        one = max(cost.round_trip_cost(r.market, b, r.ref_price, s, r.ref_price + tick, 1)
                  for b, s in (("KRX", "NXT"), ("NXT", "KRX")))
        assert r.cost_krw_1tick == one, r.code
        if tick_size(r.ref_price + (r.break_even_ticks + 1) * tick) == tick:   # no band crossed
            be = max(break_even_ticks(cost, r.market, r.ref_price, tick_size, 1, b, s)
                     for b, s in (("KRX", "NXT"), ("NXT", "KRX")))
            assert r.break_even_ticks == be, r.code
        assert r.rule_net_krw is not None and r.rule_net_krw >= 0, r.code


def test_shipped_pilot_compiles(ws):
    cp = compile_profile(ws.root, "pilot", RUN_DATE)
    assert cp.name == "pilot"
    assert len(cp.codes) == len(cp.symbols) == 50
    i = cp.index_of("005930")
    assert int(cp.ref_price[i]) == 239_500
    assert int(cp.params["t_hedge_ms"][i]) == 800              # from config/overrides/pilot.yaml
    assert float(cp.params["edge_buffer_ticks"][cp.index_of("000660")]) == 2.0
    assert int(cp.params["min_visible_qty"][cp.index_of("035420")]) == 5
    assert int(cp.params["t_hedge_ms"][cp.index_of("000660")]) == 1000   # the default
    assert cp.rule_names == ("net_edge_covers_costs_and_buffer", "visible_size_covers_slice")
    assert len(cp.config_hash) == 16
    assert cp.config_hash == compile_profile(ws.root, "pilot", RUN_DATE).config_hash


def test_compile_refuses_a_profile_with_errors(ws):
    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    with pytest.raises(ConfigError) as exc:
        compile_profile(ws.root, "pilot", RUN_DATE)
    assert "KX401" in str(exc.value)
    assert any(d.code == "KX401" for d in exc.value.diagnostics.errors)
