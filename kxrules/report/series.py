"""Time series and per-pair detail: order-call utilisation, auto-pause periods, cumulative net
PnL, reject/timeout rates, pair timelines and the machine's edge counts. Times are epoch ns UTC
in the recording and Seoul seconds-of-day (float) here, ready for the charts."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .. import seoul

from .config_view import ConfigView
from .queries import FILLS, PAIR_CODES, REJECT, one, rows

NS = 1_000_000_000
NICE_BUCKETS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)


def kst(ts_ns: int | float) -> float:
    """Seoul seconds of day of an epoch-ns time."""
    return (ts_ns / NS + seoul.KST_OFFSET_S) % seoul.DAY_S


def span(con, run_id: int) -> tuple[int, int] | None:
    r = one(con, """SELECT min(lo) AS lo, max(hi) AS hi FROM (
            SELECT min(ts_ns) AS lo, max(ts_ns) AS hi FROM quotes WHERE run_id = $run
            UNION ALL SELECT min(ts_ns), max(ts_ns) FROM signals WHERE run_id = $run
            UNION ALL SELECT min(sent_ns), max(coalesce(accepted_ns, ack_ns, sent_ns)) FROM orders WHERE run_id = $run
            UNION ALL SELECT min(ts_ns), max(ts_ns) FROM order_events WHERE run_id = $run
            UNION ALL SELECT min(ts_ns), max(ts_ns) FROM events WHERE run_id = $run AND ts_ns > 0)""", run_id)
    if r.get("lo") is None:
        return None
    return int(r["lo"]), max(int(r["hi"]), int(r["lo"]) + NS)


def chart_span(con, run_id: int, quotes: tuple[int, int], guard: tuple[int, int] | None) -> tuple[int, int]:
    """The charts' time axis: from the first to the last trading activity (signals, orders,
    transitions, fills), widened to the armed window where the market data covers it; a run
    that did nothing gets the whole recording."""
    r = one(con, """SELECT min(lo) AS lo, max(hi) AS hi FROM (
            SELECT min(ts_ns) AS lo, max(ts_ns) AS hi FROM signals WHERE run_id = $run
            UNION ALL SELECT min(sent_ns), max(coalesce(accepted_ns, ack_ns, sent_ns)) FROM orders WHERE run_id = $run
            UNION ALL SELECT min(ts_ns), max(ts_ns) FROM transitions WHERE run_id = $run
            UNION ALL SELECT min(ts_ns), max(ts_ns) FROM fills WHERE run_id = $run)""", run_id)
    if r.get("lo") is None:
        lo, hi = quotes
    else:
        lo, hi = int(r["lo"]), int(r["hi"])
    if guard is not None:
        lo = min(lo, max(guard[0], quotes[0]))
        hi = max(hi, min(guard[1], quotes[1]))
    pad = max((hi - lo) // 50, NS)
    return max(lo - pad, quotes[0]), min(hi + pad, max(quotes[1], hi))


def bucket_seconds(lo_ns: int, hi_ns: int, points: int = 480) -> int:
    want = (hi_ns - lo_ns) / NS / points
    return next((b for b in NICE_BUCKETS_S if b >= want), NICE_BUCKETS_S[-1])


def utilisation(con, run_id: int, view: ConfigView, lo_ns: int, hi_ns: int) -> dict[str, Any]:
    """Order calls per 1-second window against the per-second capacity, bucketed for the chart:
    per bucket the busiest second (peak) and the mean; plus the true sliding-window maximum."""
    bucket = bucket_seconds(lo_ns, hi_ns)
    cap = view.per_second_capacity
    per = rows(con, """
        WITH s AS (SELECT sent_ns // 1000000000 AS sec, count(*) AS n
                   FROM orders WHERE run_id = $run AND sent_ns IS NOT NULL GROUP BY 1)
        SELECT sec // $b * $b AS b, max(n) AS peak, sum(n) AS calls FROM s GROUP BY 1 ORDER BY 1""",
               run_id, b=bucket)
    window_ns = view.window_ms * 1_000_000
    peak = one(con, """SELECT max(c) AS m FROM (SELECT count(*) OVER (ORDER BY sent_ns
                    RANGE BETWEEN CURRENT ROW AND $w FOLLOWING) AS c
                    FROM orders WHERE run_id = $run AND sent_ns IS NOT NULL)""", run_id, w=window_ns - 1)
    by_bucket = {int(r["b"]): r for r in per}
    first, last = lo_ns // NS // bucket * bucket, hi_ns // NS // bucket * bucket
    points = []
    for b in range(first, last + bucket, bucket):      # empty buckets are zero, not gaps
        r = by_bucket.get(b)
        points.append({"t": kst(b * NS), "peak": (r["peak"] / cap) if r else 0.0,
                       "mean": (r["calls"] / (bucket * cap)) if r else 0.0})
    sent = np.array([r[0] for r in con.execute(
        "SELECT sent_ns FROM orders WHERE run_id = $run AND sent_ns IS NOT NULL ORDER BY sent_ns",
        {"run": run_id}).fetchall()], dtype=np.int64)
    recorded, pauses = pause_periods(con, run_id, view, sent)
    refused = [kst(r[0]) for r in con.execute(
        "SELECT ts_ns FROM signals WHERE run_id = $run AND refuse_reason = 'auto_pause' ORDER BY ts_ns",
        {"run": run_id}).fetchall()]
    return {"bucket_s": bucket, "points": points, "capacity": view.capacity, "window_ms": view.window_ms,
            "max_in_window": int(peak.get("m") or 0), "band": view.pause_utilisation,
            "pauses": pauses, "pauses_recorded": recorded, "pause_refusals": refused,
            "busiest_second": max((r["peak"] for r in per), default=0)}


def pause_periods(con, run_id: int, view: ConfigView, sent: np.ndarray) -> tuple[bool, list[tuple[float, float]]]:
    """Auto-pause periods: the engine's ``auto_pause`` events when recorded (detail ``{"on": bool}``
    or ``"on"``/``"off"``), else derived from the sends with the throttle's own rule: paused while
    the calls in the last ``sustain_ms`` reach ``utilisation × capacity × sustain / window``."""
    ev = con.execute("SELECT ts_ns, detail FROM events WHERE run_id = $run AND kind = 'auto_pause' ORDER BY ts_ns",
                     {"run": run_id}).fetchall()
    if ev:
        out, start = [], None
        for ts, detail in ev:
            on = _is_on(detail)
            if on and start is None:
                start = ts
            elif not on and start is not None:
                out.append((kst(start), kst(ts)))
                start = None
        if start is not None:
            out.append((kst(start), None))
        return True, out
    if not view.pause_enabled or sent.size == 0:
        return False, []
    sustain = view.pause_sustain_ms * 1_000_000
    need = math.ceil(view.pause_utilisation * view.capacity * view.pause_sustain_ms / view.window_ms - 1e-9)
    if need < 1 or sent.size < need:
        return False, []
    first = np.searchsorted(sent, sent - sustain, side="right")
    idx = np.nonzero(np.arange(sent.size) - first + 1 >= need)[0]
    spans: list[list[int]] = []
    for i in idx:
        start, end = int(sent[i]), int(sent[i - need + 1]) + sustain
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return False, [(kst(a), kst(b)) for a, b in spans]


def _is_on(detail: str | None) -> bool:
    if not detail:
        return False
    try:
        d = json.loads(detail)
    except ValueError:
        return detail.strip().lower() in ("on", "true", "1")
    if isinstance(d, dict):
        v = d.get("on", d.get("state", d.get("paused")))
        return v is True or str(v).lower() in ("on", "true", "1")
    return d is True or str(d).lower() in ("on", "true", "1")


def pnl(con, run_id: int) -> list[tuple[float, int]]:
    """Cumulative net PnL as the cash of every fill (sell notional less buy notional, fees and
    tax), each fill of an ended pair counted when the pair ended (its net is booked then) or when
    it came, if later; fills of flattening orders and of pairs that never ended count when they
    happen. The line is thus the day's net at its last point whatever a fill is attributed to."""
    pts = rows(con, f"""
        WITH f AS ({FILLS}),
        x AS (SELECT CASE WHEN p.ended_ns > f.ts_ns THEN p.ended_ns ELSE f.ts_ns END AS ts,
                     CAST(CASE WHEN f.side = 'sell' THEN f.notional ELSE -f.notional END
                          - f.fee_krw - f.tax_krw AS BIGINT) AS v
              FROM f LEFT JOIN pairs p ON p.run_id = $run AND p.pair_id = f.pair_id)
        SELECT ts, sum(sum(v)) OVER (ORDER BY ts) AS cum FROM x GROUP BY ts ORDER BY ts""", run_id)
    return [(kst(p["ts"]), int(p["cum"])) for p in pts]


def rates(con, run_id: int, bucket_s: int = 300) -> list[dict[str, Any]]:
    """Reject and ack-timeout rates per ``bucket_s`` window (the profile's limits are per 5 min)."""
    out = rows(con, f"""
        WITH s AS (SELECT sent_ns // 1000000000 // $b * $b AS b, count(*) AS sent FROM orders
                   WHERE run_id = $run AND sent_ns IS NOT NULL GROUP BY 1),
        e AS (SELECT ts_ns // 1000000000 // $b * $b AS b, count(*) FILTER (WHERE {REJECT}) AS rejects,
                     count(*) FILTER (WHERE e.event = 'ack_timeout') AS timeouts
              FROM order_events e WHERE e.run_id = $run GROUP BY 1)
        SELECT coalesce(s.b, e.b) AS b, coalesce(sent, 0) AS sent, coalesce(rejects, 0) AS rejects,
               coalesce(timeouts, 0) AS timeouts
        FROM s FULL OUTER JOIN e ON s.b = e.b ORDER BY 1""", run_id, b=bucket_s)
    for r in out:
        r["t"] = kst(r["b"] * NS)
        r["reject_rate"] = r["rejects"] / r["sent"] if r["sent"] else (1.0 if r["rejects"] else 0.0)
        r["timeout_rate"] = r["timeouts"] / r["sent"] if r["sent"] else (1.0 if r["timeouts"] else 0.0)
    return out


def chosen_pairs(con, run_id: int, wanted: list[int] | None, n: int = 5) -> list[int]:
    """The pairs to draw: those asked for, else the worst by net PnL and by time unhedged, and
    any pair that never ended (an abnormal run's open pairs come first)."""
    if wanted:
        return wanted
    open_ = [r[0] for r in con.execute(f"""SELECT DISTINCT pair_id FROM ({PAIR_CODES}) WHERE pair_id NOT IN
            (SELECT pair_id FROM pairs WHERE run_id = $run AND ended_ns IS NOT NULL) ORDER BY 1 LIMIT {n}""",
                                       {"run": run_id}).fetchall()]
    worst = [r[0] for r in con.execute(f"""SELECT pair_id FROM pairs WHERE run_id = $run AND entry_filled > 0
            ORDER BY net_krw, pair_id LIMIT {n}""", {"run": run_id}).fetchall()]
    slow = [r[0] for r in con.execute(f"""SELECT pair_id FROM pairs WHERE run_id = $run AND unhedged_ms IS NOT NULL
            ORDER BY unhedged_ms DESC, pair_id LIMIT {max(2, n // 2)}""", {"run": run_id}).fetchall()]
    out: list[int] = []
    for p in open_ + worst + slow:
        if p not in out:
            out.append(int(p))
    return out[: n + 3]


def timelines(con, run_id: int, pair_ids: list[int], view: ConfigView) -> list[dict[str, Any]]:
    if not pair_ids:
        return []
    ids = {"run": run_id, "ids": pair_ids}
    head = {r[0]: r for r in con.execute(f"""
        SELECT pc.pair_id, pc.code, p.buy_venue, p.sell_venue, p.qty, p.final_state, p.net_krw, p.net_bps,
               p.unhedged_ms, p.started_ns, p.ended_ns, p.used_ioc, p.signal_net_krw
        FROM ({PAIR_CODES}) pc LEFT JOIN pairs p ON p.run_id = $run AND p.pair_id = pc.pair_id
        WHERE list_contains($ids, pc.pair_id)""", ids).fetchall()}
    trans: dict[int, list] = {}
    for ts, pid, trig, src, dst in con.execute("""SELECT ts_ns, pair_id, trigger, source, dest FROM transitions
            WHERE run_id = $run AND list_contains($ids, pair_id) ORDER BY ts_ns, rowid""", ids).fetchall():
        trans.setdefault(pid, []).append((ts, trig, src, dst))
    orders: dict[int, list] = {}
    for r in rows(con, """SELECT pair_id, client_id, role, venue, side, qty, style, price, sent_ns, ack_ns,
                                 status, filled_qty, avg_price, message
                          FROM orders WHERE run_id = $run AND list_contains($ids, pair_id) ORDER BY sent_ns""",
                  run_id, ids=pair_ids):
        orders.setdefault(r["pair_id"], []).append(r)
    out = []
    for pid in pair_ids:
        h = head.get(pid)
        if h is None:
            out.append({"pair_id": pid, "missing": True})
            continue
        tr = trans.get(pid, [])
        t0 = tr[0][0] if tr else (h[9] or 0)
        steps = [{"t": kst(ts), "dt_ms": (ts - t0) / 1e6, "trigger": trig, "source": src, "dest": dst}
                 for ts, trig, src, dst in tr]
        for o in orders.get(pid, []):
            o["t"] = kst(o["sent_ns"]) if o["sent_ns"] else None
        out.append({"pair_id": pid, "code": h[1], "name": view.names.get(h[1], ""), "buy_venue": h[2],
                    "sell_venue": h[3], "qty": h[4],
                    "final_state": h[5] or "never ended", "live_at_end": h[5] is not None and h[10] is None,
                    "net_krw": h[6], "net_bps": h[7], "unhedged_ms": h[8], "used_ioc": h[11],
                    "signal_net_krw": h[12], "steps": steps, "orders": orders.get(pid, []),
                    "open": h[10] is None})
    return out


def edge_counts(con, run_id: int) -> dict[tuple[str, str, str], int]:
    return {(s, d, t): n for s, d, t, n in con.execute(
        "SELECT source, dest, trigger, count(*) FROM transitions WHERE run_id = $run AND NOT coalesce(ignored, false) "
        "GROUP BY 1, 2, 3",
        {"run": run_id}).fetchall()}
