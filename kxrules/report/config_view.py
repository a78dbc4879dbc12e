"""What the run's config snapshot (``runs.config_json``) says: the rates in force, the throttle,
the SLO targets, the armed window, the universe, the pair machine and the economics.

Everything is rebuilt from the snapshot recorded with the run, never from today's workspace:
a report of last month's run shows last month's fees and rules. A snapshot that no longer
validates (an older schema) degrades section by section, with a note, rather than failing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ..money.fees import is_broker_commission
from .source import RunInfo

DEFAULT_SLO_MS = {"tick_to_signal": 25.0, "signal_to_send": 15.0, "quote_to_send": 1.0, "send_to_ack": 150.0}


@dataclass
class ConfigView:
    names: dict[str, str]                    # code -> name (universe)
    markets: dict[str, str]                  # code -> KOSPI/KOSDAQ
    capacity: int = 5                        # order calls per window
    window_ms: int = 1000
    pause_utilisation: float = 0.8
    pause_sustain_ms: int = 5000
    pause_enabled: bool = True
    slo_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SLO_MS))
    unhedged_p95_ms: float = 1000.0
    reject_rate_5m: float = 0.005
    timeout_rate_5m: float = 0.002
    guard_start: str | None = None
    guard_end: str | None = None
    late_open: str | None = None
    emulator_file: str | None = None
    fee_rows: list[dict] = field(default_factory=list)     # venue, side, liquidity, component, rate (+ SQL)
    fee_groups: list[dict] = field(default_factory=list)   # the same, grouped for display
    tax_rows: list[dict] = field(default_factory=list)     # market, component, rate
    cost: Any = None                          # money.fees.CostModel for the run date
    machine: Any = None                       # config.schema.machine.MachineFile
    notes: list[str] = field(default_factory=list)

    @property
    def per_second_capacity(self) -> float:
        return self.capacity * 1000.0 / self.window_ms


def build(run: RunInfo) -> ConfigView:
    files = run.files
    universe = files.get("universe") or []
    view = ConfigView(names={str(u[0]): str(u[1]) for u in universe if len(u) >= 2},
                      markets={str(u[0]): str(u[2]) for u in universe if len(u) >= 3})
    prof = run.profile_data
    tele = prof.get("telemetry") or {}
    view.slo_ms.update({k: float(v) for k, v in (tele.get("slo_ms") or {}).items()})
    view.unhedged_p95_ms = float(tele.get("unhedged_p95_ms", view.unhedged_p95_ms))
    view.reject_rate_5m = float(tele.get("reject_rate_5m", view.reject_rate_5m))
    view.timeout_rate_5m = float(tele.get("timeout_rate_5m", view.timeout_rate_5m))
    view.emulator_file = (prof.get("files") or {}).get("emulator")
    _throttle(view, files.get("throttle"))
    _guard(view, files.get("sessions"), files.get("calendar"), run.run_date)
    _money(view, files.get("fees"), files.get("tax"), run.run_date)
    _machine(view, files.get("machine"))
    return view


def _throttle(view: ConfigView, data: Any) -> None:
    if not data:
        view.notes.append("no throttle file in the snapshot: assuming 5 calls per 1,000 ms")
        return
    try:
        from ..config.schema.strategy import ThrottleFile

        th = ThrottleFile.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - an old snapshot must not stop the report
        view.notes.append(f"throttle snapshot unreadable ({type(exc).__name__}): assuming defaults")
        return
    view.capacity, view.window_ms = th.orders.capacity, th.orders.window_ms
    view.pause_enabled = th.auto_pause.enabled
    view.pause_utilisation, view.pause_sustain_ms = th.auto_pause.utilisation, th.auto_pause.sustain_ms


def _guard(view: ConfigView, sessions: Any, calendar: Any, day: dt.date | None) -> None:
    from ..seoul import fmt_hms

    try:
        from ..config.schema.sessions import CalendarFile, SessionsFile

        s = SessionsFile.model_validate(sessions)
        shift_open = shift_close = 0
        if calendar and day is not None:
            cal = CalendarFile.model_validate(calendar)
            late = next((x for x in cal.late_open if x.date == day), None)
            if late is not None:
                shift_open, shift_close = late.open_delay_minutes * 60, late.close_delay_minutes * 60
                view.late_open = f"late open +{late.open_delay_minutes} min ({late.reason or 'calendar'})"
            holiday = next((h for h in cal.holidays if h.date == day), None)
            if holiday is not None:
                view.notes.append(f"{day} is a holiday in the calendar ({holiday.name}): the engine never armed")
        view.guard_start = fmt_hms(s.guard.start + shift_open)
        view.guard_end = fmt_hms(s.guard.end + shift_close)
    except Exception as exc:  # noqa: BLE001
        view.notes.append(f"sessions snapshot unreadable ({type(exc).__name__}): armed window unknown")


def _money(view: ConfigView, fees: Any, tax: Any, day: dt.date | None) -> None:
    from ..money import RATE_SCALE

    try:
        from ..config.schema.money import FeesFile, TaxFile
        from ..money.fees import CostModel

        cost = CostModel(FeesFile.model_validate(fees), TaxFile.model_validate(tax), day)
    except Exception as exc:  # noqa: BLE001
        view.notes.append(f"fee/tax snapshot unusable for {day} ({type(exc).__name__}): "
                          f"commission and venue fees are shown together")
        return
    view.cost = cost
    for (venue, side, liq), comps in sorted(cost.fees.items()):
        for c in comps:
            row = {"venue": venue, "side": side, "liquidity": liq, "name": c.name,
                   "rate_pct": f"{c.rate * 100 / RATE_SCALE:.8g}", "rounding": _rounding(c),
                   "rate": c.rate, "unit": c.unit, "mode": c.mode, "scale": RATE_SCALE,
                   "commission": is_broker_commission(c.name)}
            view.fee_rows.append(row)
    view.fee_groups = _group_fees(cost)
    for market, comps in sorted(cost.taxes.items()):
        for c in comps:
            view.tax_rows.append({"market": market, "name": c.name, "side": "sell",
                                  "rate_pct": f"{c.rate * 100 / RATE_SCALE:.8g}", "rounding": _rounding(c)})


def _group_fees(cost) -> list[dict]:
    """The fee table for display: venues whose sides or liquidities share the same components
    collapse into one row ("buy, sell" / "any")."""
    from ..money import RATE_SCALE

    groups: dict[tuple, set[tuple[str, str]]] = {}
    for (venue, side, liq), comps in cost.fees.items():
        key = (venue, tuple((c.name, c.rate, c.unit, c.mode) for c in comps))
        groups.setdefault(key, set()).add((side, liq))
    out = []
    for (venue, comps), combos in sorted(groups.items(), key=lambda kv: (kv[0][0], sorted(kv[1]))):
        sides = sorted({s for s, _ in combos})
        liqs = sorted({q for _, q in combos}, reverse=True)
        out.append({"venue": venue, "sides": ", ".join(sides),
                    "liquidity": "any" if len(liqs) > 1 else liqs[0],
                    "components": [{"name": n, "rate_pct": f"{r * 100 / RATE_SCALE:.8g}",
                                    "rounding": f"{m} to {'won' if u == 1 else f'{u:,} won'}",
                                    "commission": is_broker_commission(n)} for n, r, u, m in comps]})
    return out


def _rounding(c) -> str:
    unit = "won" if c.unit == 1 else f"{c.unit:,} won"
    return f"{c.mode} to {unit}"


def _machine(view: ConfigView, data: Any) -> None:
    if not data:
        view.notes.append("no pair machine in the snapshot")
        return
    try:
        from ..config.schema.machine import MachineFile

        view.machine = MachineFile.model_validate(data)
    except Exception as exc:  # noqa: BLE001
        view.notes.append(f"pair machine snapshot unreadable ({type(exc).__name__})")


def economics(run: RunInfo, view: ConfigView, codes: list[str]) -> tuple[list[dict], str | None]:
    """Break-even rows for ``codes``, probed exactly as `validate --economics` does, but on the
    run's own snapshot (fees, tax, rules, parameters and overrides as they were that day)."""
    if not codes:
        return [], None
    if view.cost is None:
        return [], "fee/tax tables unavailable in the snapshot"
    import numpy as np

    from ..config.checks.economics import _probe
    from ..config.params import parameter_arrays
    from ..config.schema.strategy import EdgeFile, OverridesFile
    from ..market import MARKETS
    from ..money.ticks import tick_sizes
    from ..rules.expr import compile_expr
    from ..rules.variables import known_names

    files = run.files
    ref_of = {str(u[0]): int(u[3]) for u in files.get("universe") or [] if len(u) >= 4}
    codes = [c for c in codes if c in ref_of and view.markets.get(c) in MARKETS]
    if not codes:
        return [], "the traded symbols are not in the snapshot's universe"
    try:
        edge = EdgeFile.model_validate(files.get("edge"))
        overrides = OverridesFile.model_validate(files["overrides"]) if files.get("overrides") else None
        kernels = [compile_expr(r.when, known_names()) for r in edge.rules]
        params = parameter_arrays(edge.parameters, overrides.symbols if overrides else {}, codes)
        market_idx = np.array([MARKETS.index(view.markets[c]) for c in codes], dtype=np.int64)
        ref = np.array([ref_of[c] for c in codes], dtype=np.int64)
        be, rule_min, rule_net, cost1 = _probe(view.cost, kernels, market_idx, ref, params)
    except Exception as exc:  # noqa: BLE001
        return [], f"economics could not be recomputed from the snapshot ({type(exc).__name__}: {exc})"
    ticks = tick_sizes(ref)
    rows = []
    for i, c in enumerate(codes):
        rows.append({"code": c, "name": view.names.get(c, ""), "market": view.markets.get(c, ""),
                     "ref_price": int(ref[i]), "tick": int(ticks[i]), "slice_qty": int(params["slice_qty"][i]),
                     "cost_krw_1tick": int(cost1[i]), "break_even_ticks": int(be[i]),
                     "rule_min_ticks": int(rule_min[i]) if rule_min[i] >= 0 else None,
                     "rule_net_krw": int(rule_net[i]) if rule_min[i] >= 0 else None})
    return rows, None
