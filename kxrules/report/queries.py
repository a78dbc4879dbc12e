"""The report's numbers, each one SQL over the recording (every query is filtered by ``$run``).

Money comes from the fills (price × qty, and the fee and tax the ledger booked per fill), so
orders that belong to no pair (safety-net flattening) count too, and the per-symbol rows add up
to the totals. Commission is split from venue fees with the fee table of the run's own snapshot
(components whose name starts with ``broker``, ``money.fees.is_broker_commission``), computed per fill in SQL with the table's integer rounding;
venue fees are the booked fees minus that commission, so the two always add up to the ledger.
"""
from __future__ import annotations

from typing import Any

from .config_view import ConfigView

# A cancel whose target had already ended is refused by the engine itself, not by the server.
REJECT = "e.event = 'rejected' AND coalesce(e.message, '') NOT LIKE 'nothing left to cancel%'"

FILLS = """
    SELECT fl.code, fl.venue, fl.side, fl.qty, fl.fee_krw, fl.tax_krw, fl.pair_id, fl.ts_ns,
           CAST(fl.price AS HUGEINT) * fl.qty AS notional,
           CASE WHEN o.style = 'mid' THEN 'maker' ELSE 'taker' END AS liquidity
    FROM fills fl LEFT JOIN orders o ON o.run_id = fl.run_id AND o.client_id = fl.client_id
    WHERE fl.run_id = $run"""

_AMOUNT = """CASE c.mode
        WHEN 'floor' THEN (f.notional * c.rate) // (c.scale * c.unit)
        WHEN 'ceil' THEN (f.notional * c.rate + c.scale * c.unit - 1) // (c.scale * c.unit)
        ELSE (f.notional * c.rate + (c.scale * c.unit) // 2) // (c.scale * c.unit) END * c.unit"""

COMMISSION = f"""
    SELECT f.code, sum({_AMOUNT}) AS commission
    FROM ({FILLS}) f JOIN report_fee_components c
      ON c.venue = f.venue AND c.side = f.side AND c.liquidity = f.liquidity AND c.commission
    GROUP BY f.code"""

MONEY = f"""
    WITH f AS ({FILLS})
    SELECT code, count(*) AS fills,
           sum(CASE WHEN side = 'buy' THEN notional ELSE 0 END) AS buy_notional,
           sum(CASE WHEN side = 'sell' THEN notional ELSE 0 END) AS sell_notional,
           sum(CASE WHEN side = 'buy' THEN qty ELSE -qty END) AS position,
           sum(fee_krw) AS fees, sum(tax_krw) AS tax
    FROM f GROUP BY code"""

PAIR_CODES = """
    SELECT DISTINCT pair_id, code FROM (
        SELECT pair_id, code FROM pairs WHERE run_id = $run
        UNION ALL SELECT pair_id, code FROM signals WHERE run_id = $run AND pair_id IS NOT NULL
        UNION ALL SELECT pair_id, code FROM orders WHERE run_id = $run AND pair_id IS NOT NULL)"""


def register_fee_components(con, view: ConfigView) -> bool:
    """Expose the snapshot's fee components to SQL as ``report_fee_components``."""
    import pyarrow as pa

    rows = view.fee_rows
    cols = ("venue", "side", "liquidity", "name", "rate", "unit", "mode", "scale", "commission")
    table = pa.table({c: [r[c] for r in rows] for c in cols}) if rows else pa.table(
        {"venue": pa.array([], pa.string()), "side": pa.array([], pa.string()),
         "liquidity": pa.array([], pa.string()), "name": pa.array([], pa.string()),
         "rate": pa.array([], pa.int64()), "unit": pa.array([], pa.int64()),
         "mode": pa.array([], pa.string()), "scale": pa.array([], pa.int64()),
         "commission": pa.array([], pa.bool_())})
    con.register("report_fee_components", table)
    return bool(rows)


def rows(con, sql: str, run_id: int, **params) -> list[dict[str, Any]]:
    cur = con.execute(sql, {"run": run_id, **params})
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def one(con, sql: str, run_id: int, **params) -> dict[str, Any]:
    out = rows(con, sql, run_id, **params)
    return out[0] if out else {}


def _int(x) -> int:
    return int(x) if x is not None else 0


def totals(con, run_id: int, has_commission: bool) -> dict[str, Any]:
    t: dict[str, Any] = {}
    t.update(one(con, """SELECT count(*) AS signals, count(*) FILTER (WHERE admitted) AS admitted,
                                count(*) FILTER (WHERE NOT admitted) AS refused
                         FROM signals WHERE run_id = $run""", run_id))
    t["pairs_started"] = _int(one(con, f"SELECT count(DISTINCT pair_id) AS n FROM ({PAIR_CODES})", run_id)["n"])
    # a pair still live when the run ended has a row with its state then and no ended_ns
    t.update(one(con, """SELECT count(*) FILTER (WHERE ended_ns IS NOT NULL) AS pairs_finished,
                                count(*) AS pairs_recorded,
                                count(*) FILTER (WHERE final_state = 'PAIRED_DONE') AS pairs_done,
                                count(*) FILTER (WHERE used_ioc) AS ioc_pairs,
                                count(*) FILTER (WHERE unresolved) AS unresolved,
                                quantile_cont(unhedged_ms, 0.5) AS unhedged_p50,
                                quantile_cont(unhedged_ms, 0.95) AS unhedged_p95,
                                max(unhedged_ms) AS unhedged_max,
                                count(unhedged_ms) AS unhedged_n,
                                sum(signal_net_krw) FILTER (WHERE final_state = 'PAIRED_DONE') AS done_signal_net,
                                sum(net_krw) FILTER (WHERE final_state = 'PAIRED_DONE') AS done_net
                         FROM pairs WHERE run_id = $run""", run_id))
    t["pairs_open"] = t["pairs_started"] - _int(t["pairs_finished"])
    t["pairs_by_state"] = {r["final_state"]: r["n"] for r in rows(
        con, "SELECT final_state, count(*) AS n FROM pairs WHERE run_id = $run GROUP BY 1 ORDER BY 2 DESC", run_id)}
    t.update(one(con, """SELECT count(*) FILTER (WHERE sent_ns IS NOT NULL) AS orders_sent,
                                count(*) FILTER (WHERE role = 'entry' AND sent_ns IS NOT NULL) AS entries_sent,
                                count(*) FILTER (WHERE role = 'entry' AND filled_qty > 0) AS entries_filled,
                                coalesce(sum(qty) FILTER (WHERE role = 'entry' AND sent_ns IS NOT NULL), 0) AS entry_qty,
                                coalesce(sum(filled_qty) FILTER (WHERE role = 'entry'), 0) AS entry_filled_qty,
                                count(*) FILTER (WHERE role = 'flatten') AS flatten_orders
                         FROM orders WHERE run_id = $run""", run_id))
    t["fill_rate"] = (t["entries_filled"] / t["entries_sent"]) if t["entries_sent"] else None
    t.update(one(con, f"""SELECT count(*) FILTER (WHERE {REJECT}) AS rejects,
                                 count(*) FILTER (WHERE e.event = 'ack_timeout') AS ack_timeouts,
                                 count(*) FILTER (WHERE e.event = 'stuck') AS stuck
                          FROM order_events e WHERE e.run_id = $run""", run_id))
    money = rows(con, MONEY, run_id)
    buy = sum(_int(m["buy_notional"]) for m in money)
    sell = sum(_int(m["sell_notional"]) for m in money)
    fees = sum(_int(m["fees"]) for m in money)
    tax = sum(_int(m["tax"]) for m in money)
    t.update(fills=sum(_int(m["fills"]) for m in money), buy_notional=buy, sell_notional=sell,
             gross_krw=sell - buy, fees_krw=fees, tax_krw=tax, net_krw=sell - buy - fees - tax)
    t["net_bps"] = (t["net_krw"] * 10_000 / buy) if buy else None
    t["positions_left"] = {m["code"]: _int(m["position"]) for m in money if _int(m["position"])}
    t["marks"] = _marks(con, run_id, t["positions_left"])
    t["net_marked_krw"] = (t["net_krw"] + sum(m["value"] for m in t["marks"].values())) if t["marks"] else None
    if has_commission:
        comm = sum(_int(r["commission"]) for r in rows(con, COMMISSION, run_id))
        t["commission_krw"], t["venue_fees_krw"] = comm, fees - comm
    else:
        t["commission_krw"] = t["venue_fees_krw"] = None
    t["alerts"] = {r["kind"]: r["n"] for r in rows(
        con, "SELECT kind, count(*) AS n FROM alerts WHERE run_id = $run GROUP BY 1 ORDER BY 2 DESC", run_id)}
    for k in ("signals", "admitted", "refused", "pairs_finished", "pairs_recorded", "pairs_done", "ioc_pairs", "unresolved",
              "rejects", "ack_timeouts", "stuck", "unhedged_n"):
        t[k] = _int(t.get(k))
    return t


def _marks(con, run_id: int, positions: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Shares left at the end valued at the last recorded bid (ask for a short), else at the
    last fill price: what closing them would roughly have brought, before its costs."""
    out = {}
    for code, qty in positions.items():
        side = "bid1" if qty > 0 else "ask1"
        r = one(con, f"""SELECT {side} AS price, ts_ns FROM quotes WHERE run_id = $run AND code = $code
                         AND {side} > 0 ORDER BY ts_ns DESC LIMIT 1""", run_id, code=code)
        source = "last " + ("bid" if qty > 0 else "ask")
        if not r:
            r = one(con, """SELECT price, ts_ns FROM fills WHERE run_id = $run AND code = $code
                            ORDER BY ts_ns DESC LIMIT 1""", run_id, code=code)
            source = "last fill"
        price = _int(r.get("price"))
        out[code] = {"qty": qty, "price": price, "source": source, "value": qty * price}
    return out


def symbols(con, run_id: int, view: ConfigView, has_commission: bool) -> list[dict[str, Any]]:
    """The league table: one row per symbol that had a pair, an order or a fill."""
    comm = f"LEFT JOIN ({COMMISSION}) cm ON cm.code = c.code" if has_commission else ""
    sql = f"""
        WITH c AS (SELECT code FROM pairs WHERE run_id = $run UNION SELECT code FROM orders WHERE run_id = $run
                   UNION SELECT code FROM fills WHERE run_id = $run),
        p AS (SELECT code, count(*) AS pairs, count(*) FILTER (WHERE final_state = 'PAIRED_DONE') AS done,
                     avg(net_bps) AS avg_net_bps, quantile_cont(unhedged_ms, 0.5) AS unhedged_p50,
                     max(unhedged_ms) AS unhedged_max, count(*) FILTER (WHERE used_ioc) AS ioc
              FROM pairs WHERE run_id = $run GROUP BY code),
        m AS ({MONEY}),
        r AS (SELECT o.code, count(*) FILTER (WHERE {REJECT}) AS rejects,
                     count(*) FILTER (WHERE e.event = 'ack_timeout') AS ack_timeouts
              FROM order_events e JOIN orders o ON o.run_id = e.run_id AND o.client_id = e.client_id
              WHERE e.run_id = $run GROUP BY o.code),
        h AS (SELECT pc.code, count(*) AS hedge_timeouts
              FROM transitions t JOIN ({PAIR_CODES}) pc ON pc.pair_id = t.pair_id
              WHERE t.run_id = $run AND t.trigger = 'hedge_timeout' GROUP BY pc.code)
        SELECT c.code, coalesce(p.pairs, 0) AS pairs, coalesce(p.done, 0) AS done,
               coalesce(m.sell_notional, 0) - coalesce(m.buy_notional, 0) AS gross_krw,
               coalesce(m.fees, 0) AS fees_krw, coalesce(m.tax, 0) AS tax_krw,
               coalesce(m.sell_notional, 0) - coalesce(m.buy_notional, 0) - coalesce(m.fees, 0)
                   - coalesce(m.tax, 0) AS net_krw,
               coalesce(m.buy_notional, 0) AS buy_notional, coalesce(m.position, 0) AS position,
               p.avg_net_bps, p.unhedged_p50, p.unhedged_max, coalesce(p.ioc, 0) AS ioc,
               coalesce(r.rejects, 0) AS rejects, coalesce(r.ack_timeouts, 0) AS ack_timeouts,
               coalesce(h.hedge_timeouts, 0) AS hedge_timeouts
               {", cm.commission" if has_commission else ""}
        FROM c LEFT JOIN p ON p.code = c.code LEFT JOIN m ON m.code = c.code LEFT JOIN r ON r.code = c.code
             LEFT JOIN h ON h.code = c.code {comm}
        ORDER BY net_krw DESC, c.code"""
    out = rows(con, sql, run_id)
    for r in out:
        r["name"] = view.names.get(r["code"], "")
        for k in ("gross_krw", "fees_krw", "tax_krw", "net_krw", "buy_notional", "position"):
            r[k] = _int(r[k])
    return out


def slo(con, run_id: int, view: ConfigView) -> list[dict[str, Any]]:
    """Latency percentiles per telemetry metric, against the profile's declared targets.

    A tile is in breach when its p95 exceeds the target; p99 above it alone is a warning."""
    stats = {r["metric"]: r for r in rows(con, """
        SELECT metric, count(*) AS n, quantile_cont(value, 0.5) AS p50, quantile_cont(value, 0.95) AS p95,
               quantile_cont(value, 0.99) AS p99, max(value) AS max
        FROM telemetry WHERE run_id = $run GROUP BY metric""", run_id)}
    tiles = []
    targets = [("tick_to_signal_ms", "tick → signal", view.slo_ms.get("tick_to_signal")),
               ("signal_to_send_ms", "signal → send", view.slo_ms.get("signal_to_send")),
               ("quote_to_send_ms", "quote → send (engine)", view.slo_ms.get("quote_to_send")),
               ("send_to_ack_ms", "send → ack", view.slo_ms.get("send_to_ack")),
               ("unhedged_ms", "time unhedged", view.unhedged_p95_ms)]
    for metric, label, target in targets:
        s = stats.get(metric, {"n": 0, "p50": None, "p95": None, "p99": None, "max": None})
        status = "none"
        if s["n"]:
            status = ("breach" if target is not None and s["p95"] > target else
                      "warn" if target is not None and s["p99"] > target else "ok")
        tiles.append({"metric": metric, "label": label, "target": target, "status": status, **s})
    return tiles


def missed(con, run_id: int) -> list[dict[str, Any]]:
    """Edges the rules saw but admission refused, by reason; then admitted edges the market took."""
    refused = rows(con, """
        WITH s AS (SELECT * FROM signals WHERE run_id = $run AND NOT admitted),
        top AS (SELECT refuse_reason, code, count(*) AS n,
                       row_number() OVER (PARTITION BY refuse_reason ORDER BY count(*) DESC, code) AS k
                FROM s GROUP BY 1, 2)
        SELECT s.refuse_reason AS reason, count(*) AS signals, count(DISTINCT s.code) AS symbols,
               sum(s.net_edge_krw) AS net_edge_krw, avg(s.net_edge_krw) AS avg_net_edge_krw,
               max(s.net_edge_krw) AS best_net_edge_krw,
               (SELECT string_agg(code || ' ×' || n, ', ' ORDER BY k) FROM top
                WHERE top.refuse_reason IS NOT DISTINCT FROM s.refuse_reason AND k <= 3) AS top_symbols
        FROM s GROUP BY s.refuse_reason ORDER BY signals DESC""", run_id)
    for r in refused:
        r["kind"] = "refused by admission"
    lost = rows(con, """
        SELECT final_state AS reason, count(*) AS signals, count(DISTINCT code) AS symbols,
               sum(signal_net_krw) AS net_edge_krw, avg(signal_net_krw) AS avg_net_edge_krw,
               max(signal_net_krw) AS best_net_edge_krw, NULL AS top_symbols
        FROM pairs WHERE run_id = $run AND final_state IN ('ENTRY_MISSED', 'ENTRY_REJECTED')
        GROUP BY 1 ORDER BY 2 DESC""", run_id)
    for r in lost:
        r["kind"] = "admitted, entry not filled"
    return refused + lost


def reasons(con, run_id: int, limit: int = 8) -> dict[str, list[dict[str, Any]]]:
    """Top server messages of rejected orders, and the timeouts by kind."""
    rej = rows(con, f"""
        SELECT coalesce(nullif(e.message, ''), '(no message)') AS message, o.role, count(*) AS n
        FROM order_events e JOIN orders o ON o.run_id = e.run_id AND o.client_id = e.client_id
        WHERE e.run_id = $run AND {REJECT} GROUP BY 1, 2 ORDER BY n DESC, message LIMIT {int(limit)}""", run_id)
    tmo = rows(con, f"""
        SELECT e.event AS kind, coalesce(nullif(e.message, ''), '(no message)') AS message, o.role, count(*) AS n
        FROM order_events e JOIN orders o ON o.run_id = e.run_id AND o.client_id = e.client_id
        WHERE e.run_id = $run AND e.event IN ('ack_timeout', 'stuck')
        GROUP BY 1, 2, 3 ORDER BY n DESC, message LIMIT {int(limit)}""", run_id)
    hedge = rows(con, f"""
        SELECT pc.code, count(*) AS n FROM transitions t JOIN ({PAIR_CODES}) pc ON pc.pair_id = t.pair_id
        WHERE t.run_id = $run AND t.trigger = 'hedge_timeout' GROUP BY 1 ORDER BY n DESC, code
        LIMIT {int(limit)}""", run_id)
    alerts = rows(con, f"""
        SELECT ts_ns, kind, message FROM alerts WHERE run_id = $run ORDER BY ts_ns LIMIT {int(limit) * 4}""", run_id)
    return {"rejects": rej, "timeouts": tmo, "hedge_timeouts": hedge, "alerts": alerts}


def operator_commands(con, run_id: int) -> list[dict[str, Any]]:
    """The ops view's commands: who asked, when, what, and what came of it (none in a recording
    made before the table existed)."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'operator_commands'"
                       ).fetchone()[0]:
        return []
    return rows(con, """SELECT ts_ns, who, command, code, done, outcome FROM operator_commands
                        WHERE run_id = $run ORDER BY ts_ns""", run_id)


def broker_truth(con, run_id: int, summary: dict[str, Any] | None) -> dict[str, Any]:
    """What the broker's account said (engine/broker_truth.py): breaks, adjustments, frozen
    symbols, and whether the last question at the end was answered. Runs recorded before broker
    truth have no such events and no ``broker_confirmed`` in their summary (``known`` False)."""
    import json

    def events(kind: str) -> list[dict[str, Any]]:
        return [{"ts_s": r["ts_s"], "code": r["code"], **json.loads(r["detail"])} for r in rows(
            con, "SELECT (ts_ns + 32400000000000) % 86400000000000 / 1e9 AS ts_s, code, detail FROM events "
                 "WHERE run_id = $run AND kind = $kind ORDER BY ts_ns", run_id, kind=kind)]
    summary = summary or {}
    return {"known": "broker_confirmed" in summary, "confirmed": bool(summary.get("broker_confirmed")),
            "positions_left": summary.get("positions_left") or {},
            "breaks": events("position_break"), "adjustments": events("position_adjusted"),
            "frozen": events("symbol_frozen"), "adjusted_krw": _int(summary.get("adjusted_krw") or 0)}
