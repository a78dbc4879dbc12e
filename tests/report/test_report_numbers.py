"""The report's numbers against SQL over the same recording, and against the engine's own
end-of-run summary (computed in memory during the run, independently of the report)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from kxrules.report.config_view import build as build_view
from kxrules.report.source import Recording as Rec

from .helpers import render, values

PERCENTILES = {"p50": 50, "p95": 95, "p99": 99}


@pytest.fixture(scope="module")
def traded(recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "run1.html"
    rendered = render(recording.data_dir, out, "--run", str(recording.traded))
    assert rendered.exit_code == 0, rendered.output
    return rendered


def league(html: str) -> dict[str, dict[str, str]]:
    rows = {}
    for code, body in re.findall(r'<tr data-code="([^"]+)"[^>]*>(.*?)</tr>', html, re.S):
        cells = {}
        for key, raw, text in re.findall(r'data-k="([^"]+)"(?: data-v="([^"]*)")?>([^<]*)<', body):
            cells[key] = raw if raw else text
        rows[code] = cells
    return rows


def test_totals_match_sql_and_the_engine_summary(recording, traded):
    con = recording.con()
    run = recording.traded
    v = values(traded.html)
    gross, fees, tax, buy = con.execute("""
        SELECT sum(CASE side WHEN 'sell' THEN price * qty ELSE -price * qty END), sum(fee_krw), sum(tax_krw),
               sum(CASE side WHEN 'buy' THEN price * qty ELSE 0 END)
        FROM fills WHERE run_id = ?""", [run]).fetchone()
    net = gross - fees - tax
    assert int(v["net_krw"]) == net
    assert int(v["gross_krw"]) == gross
    assert int(v["tax_krw"]) == tax
    assert int(v["fees_krw"]) == fees == int(v["commission_krw"]) + int(v["venue_fees_krw"])
    signals, admitted = con.execute("SELECT count(*), count(*) FILTER (WHERE admitted) FROM signals WHERE run_id = ?",
                                    [run]).fetchone()
    assert int(v["signals"]) == signals
    assert int(v["pairs_started"]) == admitted
    done = con.execute("SELECT count(*) FROM pairs WHERE run_id = ? AND final_state = 'PAIRED_DONE'", [run]).fetchone()[0]
    assert int(v["pairs_done"]) == done
    sent, filled = con.execute("""SELECT count(*), count(*) FILTER (WHERE filled_qty > 0) FROM orders
                                  WHERE run_id = ? AND role = 'entry'""", [run]).fetchone()
    assert float(v["fill_rate"]) == pytest.approx(filled / sent)
    unhedged = [r[0] for r in con.execute("SELECT unhedged_ms FROM pairs WHERE run_id = ? AND unhedged_ms IS NOT NULL",
                                          [run]).fetchall()]
    assert float(v["unhedged_p50"]) == pytest.approx(np.percentile(unhedged, 50))
    assert float(v["unhedged_p95"]) == pytest.approx(np.percentile(unhedged, 95))
    assert float(v["unhedged_max"]) == pytest.approx(max(unhedged))
    rejects = con.execute("SELECT count(*) FROM order_events WHERE run_id = ? AND event = 'rejected'", [run]).fetchone()[0]
    timeouts = con.execute("SELECT count(*) FROM order_events WHERE run_id = ? AND event = 'ack_timeout'",
                           [run]).fetchone()[0]
    assert int(v["rejects"]) == rejects and int(v["ack_timeouts"]) == timeouts
    assert rejects > 0 and timeouts > 0, "the faulty emulator should have rejected and dropped orders"
    # the engine's own summary, computed in memory during the run
    summary = json.loads(con.execute("SELECT summary_json FROM runs WHERE run_id = ?", [run]).fetchone()[0])
    assert (summary["net_krw"], summary["gross_krw"], summary["fees_krw"], summary["tax_krw"]) == (net, gross, fees, tax)
    assert summary["rejects"] == rejects and summary["ack_timeouts"] == timeouts
    assert summary["pairs_done"] == done and int(v["ioc_pairs"]) == summary["ioc_hedges"]
    assert int(v["max_in_window"]) == summary["max_orders_per_s"]
    assert float(v["net_bps"]) == pytest.approx(net * 10_000 / buy)
    # the plain-text summary on stdout carries the same totals
    assert f"net ₩{net:,}" in traded.output.replace("net -₩", "net ₩-")
    assert f"rejects {rejects}" in traded.output


def test_commission_is_the_fee_tables_commission_per_fill(recording, traded):
    """Commission recomputed in Python with the run's CostModel (the report does it in SQL)."""
    with Rec(recording.data_dir) as rec:
        view = build_view(rec.resolve(recording.traded))
        fills = rec.con.execute("""SELECT f.venue, f.side, f.price, f.qty, o.style FROM fills f
                                   JOIN orders o USING (run_id, client_id) WHERE f.run_id = ?""",
                                [recording.traded]).fetchall()
    expected = 0
    for venue, side, price, qty, style in fills:
        liquidity = "maker" if style == "mid" else "taker"
        expected += sum(c.amount(price * qty) for c in view.cost.fee_components(venue, side, liquidity)
                        if c.name == "broker_commission")
    assert int(values(traded.html)["commission_krw"]) == expected > 0


def test_per_symbol_rows_match_sql(recording, traded):
    con = recording.con()
    run = recording.traded
    rows = league(traded.html)
    sql = {code: (n, net) for code, n, net in con.execute("""
        WITH c AS (SELECT code FROM pairs WHERE run_id = $r UNION SELECT code FROM orders WHERE run_id = $r)
        SELECT c.code, (SELECT count(*) FROM pairs p WHERE p.run_id = $r AND p.code = c.code),
               (SELECT coalesce(sum(CASE side WHEN 'sell' THEN price * qty ELSE -price * qty END - fee_krw - tax_krw), 0)
                FROM fills f WHERE f.run_id = $r AND f.code = c.code)
        FROM c""", {"r": run}).fetchall()}
    assert set(rows) == set(sql)
    for code, (n, net) in sql.items():
        assert int(rows[code]["pairs"]) == n, code
        assert int(rows[code]["net_krw"]) == net, code
    assert sum(int(r["net_krw"]) for r in rows.values()) == int(values(traded.html)["net_krw"])
    for code, rejects in con.execute("""SELECT o.code, count(*) FROM order_events e JOIN orders o USING (run_id, client_id)
                                        WHERE e.run_id = ? AND e.event = 'rejected' GROUP BY 1""", [run]).fetchall():
        assert int(rows[code]["rejects"]) == rejects
    for code, bps, worst in con.execute("""SELECT code, avg(net_bps), max(unhedged_ms) FROM pairs WHERE run_id = ?
                                           GROUP BY code""", [run]).fetchall():
        if bps is not None:
            assert float(rows[code]["avg_net_bps"]) == pytest.approx(bps)
        if worst is not None:
            assert float(rows[code]["unhedged_max"]) == pytest.approx(worst)


def test_slo_percentiles_match_sql(recording, traded):
    con = recording.con()
    v = values(traded.html)
    checked = 0
    for metric in ("tick_to_signal_ms", "signal_to_send_ms", "quote_to_send_ms", "send_to_ack_ms", "unhedged_ms"):
        samples = [r[0] for r in con.execute("SELECT value FROM telemetry WHERE run_id = ? AND metric = ?",
                                             [recording.traded, metric]).fetchall()]
        assert samples, metric
        for name, q in PERCENTILES.items():
            assert float(v[f"{metric}.{name}"]) == pytest.approx(np.percentile(samples, q), rel=1e-9), (metric, name)
            checked += 1
        assert float(v[f"{metric}.max"]) == pytest.approx(max(samples))
    assert checked == 15
    # breach marking: time unhedged p95 (~1.2 s) is over the profile's 1,000 ms target
    assert re.search(r'class="tile breach" data-metric="unhedged_ms"', traded.html)
    assert re.search(r'class="tile ok" data-metric="tick_to_signal_ms"', traded.html)


def test_sections_are_all_there_with_charts(traded):
    html = traded.html
    for section in ("totals", "slo", "utilisation", "pnl", "symbols", "rejects", "missed", "timelines", "machine",
                    "economics"):
        assert f'<section id="{section}">' in html, section
    assert html.count('<svg class="chart"') == 3          # utilisation, PnL, reject/timeout rates
    assert '<svg class="machine"' in html and "PAIRED_DONE" in html
    assert "모의투자" in html                               # Korean server messages, unmangled
    assert "throttle" in html                               # missed opportunities by reason
    assert 'class="pair"' in html                           # pair timelines
    assert "break-even ticks" in html


def test_time_series_add_up_to_the_totals(recording):
    from kxrules.report.build import collect

    data = collect(recording.data_dir, recording.traded)
    t = data.totals
    assert data.pnl and data.pnl[-1][1] == t["net_krw"]          # the PnL line ends at the day's net
    u = data.utilisation
    calls = sum(p["mean"] * u["bucket_s"] * data.view.per_second_capacity for p in u["points"])
    assert round(calls) == t["orders_sent"]
    assert max(p["peak"] for p in u["points"]) * data.view.per_second_capacity == u["busiest_second"]
    assert sum(r["sent"] for r in data.rates) == t["orders_sent"]
    assert sum(r["rejects"] for r in data.rates) == t["rejects"]
    assert sum(r["timeouts"] for r in data.rates) == t["ack_timeouts"]
    refused = sum(m["signals"] for m in data.missed if m["kind"] == "refused by admission")
    assert refused == t["refused"]
