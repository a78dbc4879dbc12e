"""Collect everything one report shows into a :class:`ReportData` (numbers, tables, charts)."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import config_view, queries, series, svg
from .source import Recording, RunInfo


@dataclass
class ReportData:
    run: RunInfo
    view: config_view.ConfigView
    data_dir: Path
    generated_at: dt.datetime
    span: tuple[float, float] | None            # what the recording covers (Seoul seconds of day)
    axis: tuple[float, float] | None            # the charts' time axis
    totals: dict[str, Any]
    symbols: list[dict[str, Any]]
    slo: list[dict[str, Any]]
    utilisation: dict[str, Any]
    pnl: list[tuple[float, int]]
    rates: list[dict[str, Any]]
    reasons: dict[str, list[dict[str, Any]]]
    missed: list[dict[str, Any]]
    timelines: list[dict[str, Any]]
    economics: list[dict[str, Any]]
    charts: dict[str, Markup] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def collect(data_dir: Path, run: str | int | None = "latest", pairs: list[int] | None = None) -> ReportData:
    with Recording(data_dir) as rec:
        info = rec.resolve(run)
        return collect_from(rec.con, info, Path(data_dir), pairs)


def collect_from(con, info: RunInfo, data_dir: Path, pairs: list[int] | None = None) -> ReportData:
    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now

    view = config_view.build(info)
    has_comm = queries.register_fee_components(con, view)
    rid = info.run_id
    totals = queries.totals(con, rid, has_comm)
    totals["broker"] = queries.broker_truth(con, rid, info.summary)
    symbols = queries.symbols(con, rid, view, has_comm)
    slo = queries.slo(con, rid, view)
    lap("totals")
    ns_span = series.span(con, rid)
    if ns_span is None:
        util, pnl_pts, rate_rows, span = {"points": [], "pauses": [], "pause_refusals": [], "bucket_s": 1,
                                          "max_in_window": 0, "busiest_second": 0, "band": view.pause_utilisation,
                                          "capacity": view.capacity, "window_ms": view.window_ms,
                                          "pauses_recorded": False}, [], [], None
        axis_kst = None
    else:
        axis = series.chart_span(con, rid, ns_span, _guard_ns(info, view))
        util = series.utilisation(con, rid, view, *axis)
        pnl_pts = series.pnl(con, rid)
        rate_rows = series.rates(con, rid)
        span = (series.kst(ns_span[0]), series.kst(ns_span[0]) + (ns_span[1] - ns_span[0]) / series.NS)
        axis_kst = (series.kst(axis[0]), series.kst(axis[0]) + (axis[1] - axis[0]) / series.NS)
    lap("series")
    reasons = queries.reasons(con, rid)
    reasons["commands"] = queries.operator_commands(con, rid)
    missed = queries.missed(con, rid)
    chosen = series.chosen_pairs(con, rid, pairs)
    timelines = series.timelines(con, rid, chosen, view)
    counts = series.edge_counts(con, rid)
    lap("detail")
    traded = [s["code"] for s in symbols if s["pairs"] or s["buy_notional"]]
    econ, econ_note = config_view.economics(info, view, traded)
    lap("economics")
    notes = list(view.notes) + ([econ_note] if econ_note else [])
    data = ReportData(run=info, view=view, data_dir=Path(data_dir), generated_at=dt.datetime.now(),
                      span=span, axis=axis_kst, totals=totals, symbols=symbols, slo=slo, utilisation=util, pnl=pnl_pts,
                      rates=rate_rows, reasons=reasons, missed=missed, timelines=timelines, economics=econ,
                      notes=notes, timings=timings)
    data.charts = charts(data, counts)
    lap("charts")
    return data


def charts(d: ReportData, counts) -> dict[str, Markup]:
    from .machine_svg import draw

    out: dict[str, Markup] = {}
    if d.view.machine is not None:
        out["machine"] = draw(d.view.machine, counts)
    for tile in d.slo:
        out["slo_" + tile["metric"]] = svg.slo_bar(tile)
    for tl in d.timelines:
        if tl.get("steps"):
            out[f"pair_{tl['pair_id']}"] = svg.pair_strip(tl["steps"])
    if d.axis is None:
        return out
    x0, x1 = d.axis
    u = d.utilisation
    ymax = max([1.0] + [p["peak"] for p in u["points"]]) * 1.05
    chart = svg.TimeChart(x0, x1, 0.0, ymax, yfmt=lambda v: f"{v:.0%}",
                          title="order calls per second, as a share of the throttle capacity")
    chart.hbands.append((u["band"], ymax, "band-hot", f"≥ {u['band']:.0%}: auto-pause zone when sustained"))
    chart.hlines.append((u["band"], "band-line", f"{u['band']:.0%}"))
    chart.hlines.append((1.0, "cap-line", "capacity"))
    kind = "recorded" if u["pauses_recorded"] else "derived"
    for a, b in u["pauses"]:
        chart.periods.append((a, b, "pause", f"auto-pause ({kind}) {svg.hhmm(a, True)}–"
                              f"{svg.hhmm(b, True) if b is not None else 'end'}"))
    chart.series.append(_peak_bars(u))
    chart.series.append(svg.Series([(p["t"], p["mean"]) for p in u["points"]], "line", "s2", "mean"))
    chart.ticks.extend((t, f"{svg.hhmm(t, True)} entry refused: auto-pause") for t in u["pause_refusals"][:500])
    out["utilisation"] = chart.render()
    if d.pnl:
        pts = [(x0, 0)] + d.pnl
        lo, hi = svg.nice_range([v for _, v in pts])
        c = svg.TimeChart(x0, x1, lo, hi, yfmt=lambda v: f"₩{v:,.0f}", title="cumulative net PnL (KRW)")
        c.hlines.append((0, "zero-line", ""))
        c.series.append(svg.Series(pts, "step", "s1", "net PnL"))
        if len(d.pnl) <= 200:                     # a dot per booking while they stay readable
            c.series.append(svg.Series(d.pnl, "dots", "s1", "net PnL"))
        out["pnl"] = c.render()
    if d.rates:
        vals = [r["reject_rate"] for r in d.rates] + [r["timeout_rate"] for r in d.rates]
        top = max(vals + [d.view.reject_rate_5m, d.view.timeout_rate_5m]) * 1.25 or 0.01
        c = svg.TimeChart(x0, x1, 0.0, top, yfmt=lambda v: f"{v:.1%}", height=180,
                          title="reject and ack-timeout rates per 5 minutes")
        c.hlines.append((d.view.reject_rate_5m, "band-line", f"reject limit {d.view.reject_rate_5m:.1%}"))
        c.hlines.append((d.view.timeout_rate_5m, "cap-line", f"timeout limit {d.view.timeout_rate_5m:.1%}"))
        c.series.append(svg.Series([(r["t"], r["reject_rate"]) for r in d.rates], "bars", "s3", "reject rate",
                                   width_s=150))
        c.series.append(svg.Series([(r["t"] + 150, r["timeout_rate"]) for r in d.rates], "bars", "s4",
                                   "ack-timeout rate", width_s=150))
        out["rates"] = c.render()
    return out


def _guard_ns(info, view) -> tuple[int, int] | None:
    from .. import seoul

    if not (view.guard_start and view.guard_end and info.run_date):
        return None
    secs = [sum(int(p) * m for p, m in zip(x.split(":"), (3600, 60, 1))) for x in (view.guard_start, view.guard_end)]
    return seoul.epoch_ns(info.run_date, secs[0]), seoul.epoch_ns(info.run_date, secs[1])


def _peak_bars(u: dict) -> svg.Series:
    return svg.Series([(p["t"], p["peak"]) for p in u["points"]], "bars", "s1", "busiest second",
                      width_s=u["bucket_s"])
