"""Risk caps against the parameters they police."""
from __future__ import annotations

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from ..params import parameter_arrays


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    risk, edge = ws.models.get("risk"), ws.models.get("edge")
    if risk is None or edge is None:
        return
    overrides = ws.models.get("overrides")
    codes = [s.code for s in ws.universe]
    params = parameter_arrays(edge.parameters, overrides.symbols if overrides else {}, codes)
    t_hedge = [(int(v), c) for v, c in zip(params["t_hedge_ms"], codes)] or \
        [(edge.parameters.t_hedge_ms, "default")]
    longest = max(v for v, _ in t_hedge)
    code = next(c for v, c in t_hedge if v == longest)
    if risk.max_unhedged_ms <= longest:
        diags.add(*ws.locate("risk", ("max_unhedged_ms",)), "KX953",
                  f"max_unhedged_ms {risk.max_unhedged_ms} <= t_hedge_ms {longest} ({code}): every hedge "
                  f"that waits its full time would disarm the engine before it escalates")
    if risk.max_notional_per_symbol_krw > risk.max_notional_per_day_krw:
        diags.add(*ws.locate("risk", ("max_notional_per_symbol_krw",)), "KX953",
                  f"max_notional_per_symbol_krw ₩{risk.max_notional_per_symbol_krw:,} is above the day's "
                  f"max_notional_per_day_krw ₩{risk.max_notional_per_day_krw:,}")
