"""One sweep row from a run's recording: the same SQL the report uses, so a sweep row, the
report of ``kxrules trade --replay DAY --set ...`` and this module cannot disagree."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..report.queries import MONEY, one, rows
from ..runtime.summary import max_calls_in_window

# the result columns of a sweep row, in table order (money is integer KRW)
METRIC_COLUMNS = {
    "quotes": "BIGINT", "signals": "BIGINT", "pairs": "BIGINT", "pairs_done": "BIGINT",
    "entries_sent": "BIGINT", "entries_filled": "BIGINT", "fill_rate": "DOUBLE",
    "gross_krw": "BIGINT", "fees_krw": "BIGINT", "tax_krw": "BIGINT", "net_krw": "BIGINT",
    "unhedged_p50_ms": "DOUBLE", "unhedged_p95_ms": "DOUBLE", "max_orders_per_s": "INTEGER",
    "flat": "BOOLEAN", "exit_code": "INTEGER", "pairs_digest": "VARCHAR",
}


def _int(x: Any) -> int:
    return int(x) if x is not None else 0


def run_metrics(con, run_id: int) -> dict[str, Any]:
    """The sweep row's metrics of ``run_id`` in an open recording."""
    m: dict[str, Any] = {}
    m.update(one(con, "SELECT count(*) AS signals FROM signals WHERE run_id = $run", run_id))
    m.update(one(con, """SELECT count(*) AS pairs, count(*) FILTER (WHERE final_state = 'PAIRED_DONE') AS pairs_done,
                                quantile_cont(unhedged_ms, 0.5) AS unhedged_p50_ms,
                                quantile_cont(unhedged_ms, 0.95) AS unhedged_p95_ms
                         FROM pairs WHERE run_id = $run""", run_id))
    m.update(one(con, """SELECT count(*) FILTER (WHERE role = 'entry' AND sent_ns IS NOT NULL) AS entries_sent,
                                count(*) FILTER (WHERE role = 'entry' AND filled_qty > 0) AS entries_filled
                         FROM orders WHERE run_id = $run""", run_id))
    sent = [r["sent_ns"] for r in rows(con, "SELECT sent_ns FROM orders WHERE run_id = $run AND sent_ns IS NOT NULL",
                                       run_id)]
    money = rows(con, MONEY, run_id)
    buy = sum(_int(r["buy_notional"]) for r in money)
    sell = sum(_int(r["sell_notional"]) for r in money)
    fees = sum(_int(r["fees"]) for r in money)
    tax = sum(_int(r["tax"]) for r in money)
    run = one(con, "SELECT exit_code, summary_json FROM runs WHERE run_id = $run", run_id)
    import json

    summary = json.loads(run["summary_json"]) if run.get("summary_json") else {}
    for k in ("signals", "pairs", "pairs_done", "entries_sent", "entries_filled"):
        m[k] = _int(m.get(k))
    m["fill_rate"] = m["entries_filled"] / m["entries_sent"] if m["entries_sent"] else None
    m.update(quotes=_int(summary.get("quotes")), gross_krw=sell - buy, fees_krw=fees, tax_krw=tax,
             net_krw=sell - buy - fees - tax, max_orders_per_s=max_calls_in_window(sent),
             flat=bool(summary.get("flat")), exit_code=run.get("exit_code"))
    m["pairs_digest"] = pairs_digest(con, run_id)
    return {k: m[k] for k in METRIC_COLUMNS}


def pairs_digest(con, run_id: int) -> str:
    """A hash of every pair (id, symbol, direction, quantity, final state, fills, net): two runs
    with the same digest traded the same pairs to the won."""
    import hashlib

    got = con.execute("""SELECT pair_id, code, buy_venue, qty, final_state, entry_filled, hedged, buy_value,
                                sell_value, fees_krw, tax_krw, net_krw
                         FROM pairs WHERE run_id = ? ORDER BY pair_id""", [run_id]).fetchall()
    return hashlib.sha256(repr(got).encode()).hexdigest()[:16]


def recorded_metrics(db_path: Path, run_id: int) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return run_metrics(con, run_id)
    finally:
        con.close()
