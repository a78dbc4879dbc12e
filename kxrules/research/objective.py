"""Rank a sweep's settings by its objective, over the days each one ran.

A constraint must hold on every day (a setting that breaches once is not robust); the
objective adds money and counts over the days and averages rates and latencies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADDITIVE = {"net_krw", "gross_krw", "fees_krw", "tax_krw", "signals", "pairs", "pairs_done"}


@dataclass
class Ranked:
    setting: str
    command: str
    days: int
    value: float | None
    net_krw: int
    worst_day_net_krw: int
    unhedged_p95_ms: float | None      # the worst day's
    feasible: bool
    breaches: list[str]


def aggregate(values: list, metric: str) -> float | None:
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return sum(vals) if metric in ADDITIVE else sum(vals) / len(vals)


def rank(rows: list[dict[str, Any]], objective) -> list[Ranked]:
    by_setting: dict[str, list[dict]] = {}
    for r in rows:
        by_setting.setdefault(r["setting"], []).append(r)
    metric = objective.maximize or objective.minimize
    out = []
    for setting, rs in by_setting.items():
        breaches = []
        for name, bound in objective.constraints.items():
            for r in rs:
                v = r.get(name)
                if v is None:
                    continue
                if (bound.max is not None and v > bound.max) or (bound.min is not None and v < bound.min):
                    breaches.append(f"{name} {v:,.0f} on {r['day_date']}")
        p95 = [r["unhedged_p95_ms"] for r in rs if r["unhedged_p95_ms"] is not None]
        out.append(Ranked(setting, rs[0].get("command") or "", len(rs), aggregate([r.get(metric) for r in rs], metric),
                          sum(r["net_krw"] for r in rs), min(r["net_krw"] for r in rs), max(p95) if p95 else None,
                          not breaches, breaches))
    sign = -1 if objective.maximize else 1
    out.sort(key=lambda x: (not x.feasible, x.value is None, sign * (x.value or 0), x.setting))
    return out


def render_ranking(ranked: list[Ranked], metric: str, top: int = 10) -> str:
    lines = [f"{'#':>3}  {'setting':<44}{'days':>5}{metric:>14}{'worst day':>12}{'p95 ms':>9}  ok"]
    for i, r in enumerate(ranked[:top], 1):
        value = "-" if r.value is None else f"{r.value:,.0f}" if abs(r.value) >= 100 else f"{r.value:,.3f}"
        p95 = "-" if r.unhedged_p95_ms is None else f"{r.unhedged_p95_ms:,.0f}"
        ok = "yes" if r.feasible else "no: " + "; ".join(r.breaches[:2])
        lines.append(f"{i:>3}  {r.setting[:43]:<44}{r.days:>5}{value:>14}{r.worst_day_net_krw:>12,}{p95:>9}  {ok}")
    return "\n".join(lines)
