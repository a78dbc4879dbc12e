"""Bad config values are located diagnostics, never a traceback: absurd nesting (KX002), rates that
are not finite or sane (KX103/KX104/KX704), values out of the declared bounds (KX104), and
booleans, strings or decimals where an integer belongs (KX103: no lax coercion)."""
from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.config.yaml_loader import MAX_DEPTH

E, F, X, R, O, U, TH = ("rules/edge.yaml", "rules/fees.yaml", "rules/tax.yaml", "rules/risk.yaml",
                        "config/overrides/pilot.yaml", "config/universe/pilot.csv", "rules/throttle.yaml")
runner = CliRunner()


def only(ws, code: str) -> tuple[str, int, int, str]:
    """The one error the workspace has (warnings aside), asserting its code."""
    ws.check()
    errors = ws.diags.errors
    assert len(errors) == 1, [d.format() for d in ws.diags.items]
    d = errors[0]
    assert d.code == code, d.format()
    return d.path, d.position.line, d.position.col, d.code


# --- deeply nested YAML: KX002, no RecursionError, no segfault ------------------------------

def test_5000_nested_flow_sequences_is_KX002_at_the_first_level_too_deep(ws):
    ws.write(E, "x: " + "[" * 5000 + "]" * 5000 + "\n")
    # the root mapping is level 1, so the 64th '[' (column 3 + 64) opens level 65
    assert only(ws, "KX002") == (E, 1, 3 + MAX_DEPTH, "KX002")
    assert f"more than {MAX_DEPTH} levels" in ws.messages("KX002")[0]


def test_100000_unclosed_brackets_are_KX002_not_a_crash(ws):
    ws.write(E, "x: " + "[" * 100_000 + "\n")
    assert only(ws, "KX002") == (E, 1, 3 + MAX_DEPTH, "KX002")


def test_3000_nested_block_mappings_is_KX002_at_its_line(ws):
    ws.write(E, "x:\n" + "".join("  " * (i + 1) + "k:\n" for i in range(3000)) + "  " * 3001 + "1\n")
    path, line, col, code = only(ws, "KX002")
    assert (path, line) == (E, MAX_DEPTH + 1)           # line i+1 holds level i+1's key
    assert col == 2 * MAX_DEPTH + 1


def test_5000_nested_flow_mappings_is_KX002(ws):
    ws.write(E, "x: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n")
    path, line, _, code = only(ws, "KX002")
    assert (path, line) == (E, 1)


def test_aliases_nesting_beyond_any_depth_are_KX002_at_the_file(ws):
    lines = ["a0: &a0 1"] + [f"a{i}: &a{i} " + "[" * 60 + f"*a{i - 1}" + "]" * 60 for i in range(1, 200)]
    ws.write(E, "\n".join(lines) + "\n")
    assert only(ws, "KX002") == (E, 0, 0, "KX002")


def test_nesting_within_the_limit_is_schema_checked_as_usual(ws):
    ws.write(E, "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert {c for *_, c in ws.check()} == {"KX101", "KX102"}


# --- rates: finite, not negative, at most 5%, at most 1e-10 of the notional -------------------

@pytest.mark.parametrize("written, code, text", [
    ('"NaN"', "KX103", "is not a finite decimal number"),
    ('"sNaN"', "KX103", "is not a finite decimal number"),
    ('"inf"', "KX103", "is not a finite decimal number"),
    (".nan", "KX103", "is not a finite decimal number"),
    (".inf", "KX103", "is not a finite decimal number"),
    ("1e400", "KX103", "is not a finite decimal number"),      # YAML reads it as a float: inf
    ('"1e400"', "KX104", "must lie between 0 and 5%"),
    ('"-0.01"', "KX704", "is negative"),
    ('"6"', "KX104", "must lie between 0 and 5%"),
    ('"1e-9999999"', "KX704", "more precision than 1e-10"),
    ('"0.0150000000000000000000000000000001"', "KX704", "more precision than 1e-10"),
    ("true", "KX103", "rate must be a decimal number"),
])
def test_bad_fee_rate_is_located_at_the_value(ws, written, code, text):
    ws.replace(F, 'rate_pct: "0.015"', f"rate_pct: {written}")
    line, col = ws.find(F, written, after="rate_pct:")
    assert only(ws, code) == (F, line, col, code)
    assert text in ws.messages(code)[0]


def test_bad_tax_rate_is_located_at_the_value(ws):
    ws.replace(X, 'securities_transaction_tax, rate_pct: "0.03"', 'securities_transaction_tax, rate_pct: "NaN"')
    line, col = ws.find(X, '"NaN"')
    assert only(ws, "KX103") == (X, line, col, "KX103")


@pytest.mark.parametrize("written", ['"-0"', '"0"', '"5"', '"0.00000001"', "0.5"])
def test_rates_at_the_bounds_are_accepted(ws, written):
    ws.replace(F, 'rate_pct: "0.015"', f"rate_pct: {written}")
    ws.check()
    assert not ws.diags.errors, [d.format() for d in ws.diags.errors]


# --- the universe's reference prices ------------------------------------------------------------

@pytest.mark.parametrize("price", ["100000000000000000000000", "10001000"])
def test_reference_price_above_ten_million_is_KX104_at_the_field(ws, price):
    ws.replace(U, "000660,SK하이닉스,KOSPI,1425000", f"000660,SK하이닉스,KOSPI,{price}")
    line, col = ws.find(U, price)
    found = ws.check()
    assert (U, line, col, "KX104") in found
    assert "above 10,000,000 KRW" in ws.messages("KX104")[0]
    assert {c for *_, c in found} <= {"KX104", "KX604"}          # its override is now orphaned


def test_reference_price_of_ten_million_is_accepted(ws):
    ws.replace(U, "000660,SK하이닉스,KOSPI,1425000", "000660,SK하이닉스,KOSPI,10000000")
    ws.check()
    assert not [d for d in ws.diags.errors if d.code == "KX104"]


# --- integers are written as integers (KX103), and stay within their bounds (KX104) -----------

@pytest.mark.parametrize("written, code, text", [
    ("true", "KX103", "got the boolean true"),
    ('"5"', "KX103", "got the string '5'"),
    ("5.0", "KX103", "got the decimal 5.0"),
    ("0", "KX104", "greater than or equal to 1"),
    ("1001", "KX104", "less than or equal to 1000"),
    ("100000000000000000000000", "KX104", "less than or equal to 1000"),
])
def test_slice_qty(ws, written, code, text):
    ws.replace(E, "  slice_qty: 1 ", f"  slice_qty: {written} ")
    line, col = ws.find(E, written, after="slice_qty:")
    assert only(ws, code) == (E, line, col, code)
    assert text in ws.messages(code)[0]


@pytest.mark.parametrize("rel, old, new, code", [
    (E, "batch_interval_ms: 0.5", "batch_interval_ms: 1001", "KX104"),
    (E, "batch_interval_ms: 0.5", "batch_interval_ms: 0.05", "KX104"),
    (E, "batch_interval_ms: 0.5", 'batch_interval_ms: "10"', "KX103"),
    (E, "cooldown_ms: 150", "cooldown_ms: 3600001", "KX104"),
    (E, "reject_cooldown_ms: 250", "reject_cooldown_ms: -1", "KX104"),
    (E, "t_hedge_ms: 1000", "t_hedge_ms: 100000000000000000000000", "KX104"),
    (E, "t_hedge_ms: 1000", "t_hedge_ms: false", "KX103"),
    (E, "min_visible_qty: 1", "min_visible_qty: 1000001", "KX104"),
    (E, "edge_buffer_ticks: 1", 'edge_buffer_ticks: "1.5"', "KX103"),
    (E, "edge_buffer_ticks: 1", "edge_buffer_ticks: .nan", "KX104"),
    (R, "max_daily_loss_krw: 50000", "max_daily_loss_krw: 100000000000", "KX104"),
    (R, "max_daily_loss_krw: 50000", "max_daily_loss_krw: 5e4", "KX103"),
    (R, "max_rejects_per_minute: 10", "max_rejects_per_minute: 301", "KX104"),
    (R, "max_active_symbols: 2", "max_active_symbols: 1001", "KX104"),
    (R, "max_outstanding_pairs_per_symbol: 1", "max_outstanding_pairs_per_symbol: 11", "KX104"),
    (R, "max_unhedged_ms: 3000", "max_unhedged_ms: 600001", "KX104"),
    (R, "max_unhedged_ms: 3000", 'max_unhedged_ms: "3000"', "KX103"),
    (R, "disarm_on_max_unhedged: true", "disarm_on_max_unhedged: 1", "KX103"),
    (R, "reject_freeze_consecutive: 3", "reject_freeze_consecutive: 0", "KX104"),
    (R, "reject_freeze_count: 5", "reject_freeze_count: 301", "KX104"),
    (R, "reject_freeze_window_ms: 60000", "reject_freeze_window_ms: 999", "KX104"),
    (R, "reject_freeze_ms: 60000", "reject_freeze_ms: 3600001", "KX104"),
    (R, "reject_spike_per_symbol: 3", "reject_spike_per_symbol: 301", "KX104"),
    (R, "max_pairs_per_symbol_per_day: 20", "max_pairs_per_symbol_per_day: 0", "KX104"),
    (R, "max_pairs_per_symbol_per_day: 20", "max_pairs_per_symbol_per_day: 20.0", "KX103"),
    (R, "max_notional_per_symbol_krw: 10000000", "max_notional_per_symbol_krw: 1000000000001", "KX104"),
    (R, "max_notional_per_day_krw: 100000000", "max_notional_per_day_krw: 1e8", "KX103"),
    (R, "  ack_ms: 200", "  ack_ms: 10", "KX104"),
    (R, "  chejan_silence_ms: 300", "  chejan_silence_ms: 60001", "KX104"),
    (R, "  reconnect_ms: 5000", "  reconnect_ms: 600001", "KX104"),
    (R, "  flatten_retry_ms: 1000", "  flatten_retry_ms: 99", "KX104"),
    (R, "  ioc_outcome_ms: 1000", '  ioc_outcome_ms: "1000"', "KX103"),
    (R, "flatten_venue: KRX", "flatten_venue: KOSDAQ", "KX104"),
    (TH, "sustain_ms: 5000", "sustain_ms: 600001", "KX104"),
    (TH, "enabled: true", "enabled: 1", "KX103"),
    (TH, "enabled: true", 'enabled: "yes"', "KX103"),
])
def test_bounds_and_types(ws, rel, old, new, code):
    ws.replace(rel, old, new)
    value = new.split(": ", 1)[1]
    line, col = ws.find(rel, value, after=old.split(":")[0] + ":")
    assert only(ws, code) == (rel, line, col, code)


@pytest.mark.parametrize("written, code, text", [
    ("100000000000000000000000", "KX104", "not a number of sane size"),
    (".nan", "KX104", "not a number of sane size"),
    (".inf", "KX104", "not a number of sane size"),
    ("true", "KX103", "got the boolean true"),
    ('"800"', "KX103", "got the string '800'"),
    ("800.5", "KX103", "expected a whole number"),
    ("60001", "KX104", "less than or equal to 60000"),
])
def test_per_symbol_override_values(ws, written, code, text):
    ws.replace(O, "t_hedge_ms: 800", f"t_hedge_ms: {written}")
    line, col = ws.find(O, written, after="t_hedge_ms:")
    found = ws.check()
    assert (O, line, col, code) in found
    assert any(text in m for m in ws.messages(code)), ws.messages(code)
    assert {d.code for d in ws.diags.errors} <= {code, "KX953"}   # a long t_hedge_ms trips the risk cap too


def test_the_shipped_workspace_still_validates_clean(ws):
    assert ws.check() == set()


# --- the commands: validate exits 1, trade exits 2, both print file:line:col ------------------

def test_validate_exits_1_and_trade_exits_2_with_the_location(ws):
    ws.write(E, "x: " + "[" * 5000 + "]" * 5000 + "\n")
    r = runner.invoke(app, ["validate", "--workspace", str(ws.root), "-p", "pilot", "--date", "2026-08-12"])
    assert r.exit_code == 1, r.output
    assert f"{E}:1:{3 + MAX_DEPTH}: error KX002" in r.stdout
    ws.write(E, (Path(__file__).resolve().parents[2] / E).read_text(encoding="utf-8"))
    ws.replace(F, 'rate_pct: "0.015"', 'rate_pct: "NaN"')
    line, col = ws.find(F, '"NaN"')
    r = runner.invoke(app, ["trade", "--workspace", str(ws.root), "-p", "pilot", "--broker", "sim",
                            "--synthetic", "--date", "2026-08-12", "--data-dir", str(ws.root / "data")])
    assert r.exit_code == 2, r.output
    assert f"{F}:{line}:{col}: error KX103" in r.stderr
    assert not (ws.root / "data").exists()


def test_a_symbol_notional_cap_above_the_days_is_KX953(ws):
    ws.replace(R, "max_notional_per_symbol_krw: 10000000", "max_notional_per_symbol_krw: 200000000")
    line, col = ws.find(R, "200000000", after="max_notional_per_symbol_krw:")
    assert only(ws, "KX953") == (R, line, col, "KX953")
