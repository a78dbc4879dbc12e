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


def judge(rows: list[dict[str, Any]], objective) -> tuple[float | None, list[float], list[str]]:
    """One setting's runs: the objective's value over its days, each constraint's worst violation
    over the days (<= 0 holds: Optuna's convention) and the breaches in words."""
    metric = objective.maximize or objective.minimize
    violations, breaches = [], []
    for name, bound in objective.constraints.items():
        excesses = []
        for r in rows:
            if r.get(name) is None:
                continue
            excesses.append(_excess(r[name], bound))
            if excesses[-1] > 0:
                breaches.append(f"{name} {r[name]:,.0f} on {r['day_date']}")
        violations.append(max(excesses) if excesses else 0.0)
    return aggregate([r.get(metric) for r in rows], metric), violations, breaches


def _excess(value: float, bound) -> float:
    """How far ``value`` lies outside ``bound`` (negative: inside by that much)."""
    sides = ([float(value - bound.max)] if bound.max is not None else []) + \
            ([float(bound.min - value)] if bound.min is not None else [])
    return max(sides) if sides else 0.0


def rank(rows: list[dict[str, Any]], objective) -> list[Ranked]:
    by_setting: dict[str, list[dict]] = {}
    for r in rows:
        by_setting.setdefault(r["setting"], []).append(r)
    out = []
    for setting, rs in by_setting.items():
        value, _, breaches = judge(rs, objective)
        p95 = [r["unhedged_p95_ms"] for r in rs if r["unhedged_p95_ms"] is not None]
        out.append(Ranked(setting, rs[0].get("command") or "", len(rs), value,
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
