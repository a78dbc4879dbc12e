"""Fee and tax tables: coverage of the run date (KX701, KX702), overlaps (KX703), rates (KX704)."""
from __future__ import annotations

import datetime as dt

F = "rules/fees.yaml"
X = "rules/tax.yaml"

NXT_COMMISSION_PERIOD = "      - {from: 2025-03-04, to: null}"
KRX_COMMISSION_PERIOD = "      - {from: 2024-01-01, to: null}"


def test_nxt_commission_starting_after_the_run_date_is_KX701(ws):
    ws.replace(F, NXT_COMMISSION_PERIOD, "      - {from: 2026-09-01, to: null}")
    line, col = ws.find(F, "- name: broker_commission")    # the first entry of `fees:`
    assert ws.check() == {(F, line, col, "KX701")}
    assert sorted(ws.messages("KX701")) == ["no broker commission for NXT buy on 2026-08-12",
                                            "no broker commission for NXT sell on 2026-08-12"]


def test_krx_commission_ending_the_day_before_is_KX701(ws):
    ws.replace(F, KRX_COMMISSION_PERIOD, "      - {from: 2024-01-01, to: 2026-08-11}")
    found = ws.check()
    assert {c for *_, c in found} == {"KX701"}
    assert sorted(ws.messages("KX701")) == ["no broker commission for KRX buy on 2026-08-12",
                                            "no broker commission for KRX sell on 2026-08-12"]


def test_commission_covering_only_buys_is_KX701_for_sells(ws):
    ws.replace(F, "venue: NXT\n    sides: [buy, sell]\n    liquidity: any\n    rate_pct: \"0.0145\"",
               "venue: NXT\n    sides: [buy]\n    liquidity: any\n    rate_pct: \"0.0145\"")
    ws.check()
    assert ws.messages("KX701") == ["no broker commission for NXT sell on 2026-08-12"]


def test_the_commission_is_the_component_named_broker(ws):
    # validation and the report's commission/fee split follow one rule (money.fees)
    from kxrules.money.fees import is_broker_commission

    ws.replace(F, "- name: broker_commission", "- name: broker_fee", count=-1)
    assert ws.check() == set()
    ws.replace(F, "- name: broker_fee", "- name: commission", count=-1)
    assert {c for *_, c in ws.check()} == {"KX701"}
    assert is_broker_commission("broker_fee") and not is_broker_commission("commission")


def test_period_ending_on_the_run_date_still_covers_it(ws):
    ws.replace(F, KRX_COMMISSION_PERIOD, "      - {from: 2024-01-01, to: 2026-08-12}")
    assert ws.check() == set()


def test_kosdaq_tax_ending_before_the_run_date_is_KX702(ws):
    ws.replace(X, "      - from: 2025-12-29\n        to: null\n        components:\n"
                  "          - {name: securities_transaction_tax, rate_pct: \"0.20\"",
               "      - from: 2025-12-29\n        to: 2026-06-30\n        components:\n"
                  "          - {name: securities_transaction_tax, rate_pct: \"0.20\"")
    line, col = ws.find(X, "- market: KOSPI")               # the first entry of `taxes:`
    assert ws.check() == {(X, line, col, "KX702")}
    assert ws.messages("KX702") == ["no transaction tax for KOSDAQ on 2026-08-12"]


def test_missing_tax_for_a_market_nobody_trades_is_fine(ws):
    # a KOSPI-only universe needs no KOSDAQ tax
    text = ws.read("config/universe/pilot.csv")
    kospi_only = "\n".join(ln for ln in text.splitlines() if "KOSDAQ" not in ln) + "\n"
    ws.write("config/universe/pilot.csv", kospi_only)
    ws.replace(X, "to: null\n        components:\n          - {name: securities_transaction_tax, rate_pct: \"0.20\"",
               "to: 2026-06-30\n        components:\n          - {name: securities_transaction_tax, rate_pct: \"0.20\"")
    assert ws.check() == set()


def test_fee_periods_of_the_same_component_overlapping_are_KX703(ws):
    # KRX venue fees 'any' restarting 2026-02-10 overlaps the taker and maker cut to 2026-02-13
    ws.replace(F, "      - {from: 2026-02-14, to: null}", "      - {from: 2026-02-10, to: null}")
    taker = ws.find(F, "      - {from: 2025-12-15, to: 2026-02-13}")
    maker = ws.find(F, "      - {from: 2025-12-15, to: 2026-02-13}", nth=2)
    assert ws.check() == {(F, taker[0], 7, "KX703"), (F, maker[0], 7, "KX703")}
    assert "charged twice" in ws.messages("KX703")[0]


def test_fee_period_ending_before_it_starts_is_KX703(ws):
    ws.replace(F, "- {from: 2024-01-01, to: 2025-12-14}", "- {from: 2025-12-14, to: 2024-01-01}")
    line, col = ws.find(F, "{from: 2025-12-14, to: 2024-01-01}")
    assert ws.check() == {(F, line, col, "KX703")}


def test_tax_periods_overlapping_are_KX703_at_the_later_period(ws):
    ws.replace(X, "        to: 2025-12-28\n        components:\n          - {name: securities_transaction_tax, rate_pct: \"0.00\"",
               "        to: 2025-12-30\n        components:\n          - {name: securities_transaction_tax, rate_pct: \"0.00\"")
    line, col = ws.find(X, "from: 2025-12-29")
    assert ws.check() == {(X, line, col, "KX703")}
    assert ws.messages("KX703") == ["KOSPI: tax period from 2025-12-29 overlaps the one from 2024-12-27"]


def test_rate_with_more_than_1e_10_precision_is_KX704(ws):
    ws.replace(F, 'rate_pct: "0.015"', 'rate_pct: "0.01500000001"')
    line, col = ws.find(F, '"0.01500000001"')
    assert ws.check() == {(F, line, col, "KX704")}


def test_rate_at_exactly_1e_10_precision_is_accepted(ws):
    # percent with 8 decimals = 1e-10 of the notional: the finest rate the engine represents
    ws.replace(F, 'rate_pct: "0.0036396"', 'rate_pct: "0.00363961"')
    assert ws.check() == set()
    ws.replace(F, 'rate_pct: "0.00363961"', 'rate_pct: "0.003639601"')
    line, col = ws.find(F, '"0.003639601"')
    assert ws.check() == {(F, line, col, "KX704")}


def test_negative_rate_is_KX704(ws):
    ws.replace(X, 'rate_pct: "0.20"', 'rate_pct: "-0.20"')
    line, col = ws.find(X, '"-0.20"')
    assert ws.check() == {(X, line, col, "KX704")}


def test_rate_above_100_percent_is_KX104(ws):
    ws.replace(F, 'rate_pct: "0.015"', 'rate_pct: "150"')
    line, col = ws.find(F, '"150"')
    assert ws.check() == {(F, line, col, "KX104")}


def test_rate_that_is_not_a_number_is_KX103(ws):
    ws.replace(F, 'rate_pct: "0.015"', 'rate_pct: "1.5bp"')
    line, col = ws.find(F, '"1.5bp"')
    assert ws.check() == {(F, line, col, "KX103")}
    assert ws.messages("KX103") == ["fees.0.rate_pct: rate '1.5bp' is not a decimal number"]


def test_run_date_in_the_maker_taker_cut_is_covered(ws):
    assert ws.check(date=dt.date(2026, 1, 15)) == set()
