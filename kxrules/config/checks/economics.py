"""Economics: ticks of edge each symbol needs to break even, and whether the rules demand them.

The rule kernels are probed with the engine's own variable builder: for each symbol at its
reference price we offer gross edges of 0, 1, 2 … ticks (ample size on both sides) and find the
smallest edge the rules admit. If that edge loses money after commission, fees and tax (a rule
that forgets the tax, say), `validate` warns.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np

from ...market import MARKETS
from ...money.fees import CostModel, CoverageError
from ...money.ticks import tick_sizes
from ...rules.expr import CompiledExpr
from ...rules.variables import CostTables, ParameterTable, rule_variables
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from ..params import parameter_arrays

MAX_PROBE_TICKS = 50
AMPLE = 10**9


@dataclass(frozen=True, slots=True)
class EconomicsRow:
    code: str
    name: str
    market: str
    ref_price: int
    tick: int
    slice_qty: int
    cost_krw_1tick: int          # round-trip cost with a 1-tick edge, worst direction
    break_even_ticks: int        # smallest gross edge (ticks) with net >= 0, worst direction
    rule_min_ticks: int | None   # smallest edge the rules admit (None: none within the probe)
    rule_net_krw: int | None     # net PnL of a slice at that edge (worst direction)


@dataclass(slots=True)
class Economics:
    run_date: dt.date
    rows: list[EconomicsRow]

    def as_json(self) -> list[dict]:
        return [asdict(r) for r in self.rows]


def _probe(cost: CostModel, kernels: list[CompiledExpr], market_idx: np.ndarray, ref: np.ndarray,
           params: dict[str, np.ndarray]):
    """Per symbol: worst-direction break-even ticks, smallest admitted edge, its worst net, cost."""
    n = len(ref)
    tables, table_params, sym = CostTables(cost, market_idx), ParameterTable(params), np.arange(n)
    ample = np.full(n, AMPLE, dtype=np.int64)
    be = np.zeros(n, dtype=np.int64)
    cost1 = np.zeros(n, dtype=np.int64)
    rule_min = np.full(n, -1, dtype=np.int64)
    rule_net = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    for d in (0, 1):                                     # buy on KRX and sell on NXT, then the reverse
        direction = np.full(n, d, dtype=np.int64)
        sell = ref.copy()
        d_be = np.full(n, MAX_PROBE_TICKS + 1, dtype=np.int64)
        d_rule = np.full(n, -1, dtype=np.int64)
        for k in range(MAX_PROBE_TICKS + 1):
            env = rule_variables(tables, table_params, direction, sym, ref, ample, sell, ample, ample)
            net = env["net_edge_krw"]
            if k == 1:
                cost1 = np.maximum(cost1, env["cost_krw"])
            d_be = np.where((d_be > MAX_PROBE_TICKS) & (net >= 0), k, d_be)
            ok = np.ones(n, dtype=bool)
            for kern in kernels:
                ok &= kern.evaluate(env, n)
            first = (d_rule < 0) & ok
            d_rule[first] = k
            rule_net[first] = np.minimum(rule_net[first], net[first])
            sell = sell + tick_sizes(sell)
        be = np.maximum(be, d_be)
        admitted = d_rule >= 0
        rule_min = np.where(admitted & ((rule_min < 0) | (d_rule < rule_min)), d_rule, rule_min)
    return be, rule_min, rule_net, cost1


def check(ws: LoadedWorkspace, diags: Diagnostics, run_date: dt.date,
          kernels: list[CompiledExpr] | None) -> Economics | None:
    fees, tax, edge = ws.models.get("fees"), ws.models.get("tax"), ws.models.get("edge")
    if fees is None or tax is None or edge is None or not ws.universe or kernels is None:
        return None
    if diags.has_errors():
        return None
    cost = CostModel(fees, tax, run_date)
    symbols = ws.universe
    market_idx = np.array([MARKETS.index(s.market) for s in symbols], dtype=np.int64)
    ref = np.array([s.ref_price for s in symbols], dtype=np.int64)
    overrides = ws.models.get("overrides")
    params = parameter_arrays(edge.parameters, overrides.symbols if overrides else {},
                              [s.code for s in symbols])
    try:
        be, rule_min, rule_net, cost1 = _probe(cost, kernels, market_idx, ref, params)
    except CoverageError:
        return None
    rows = [
        EconomicsRow(s.code, s.name, s.market, s.ref_price, int(tick_sizes(ref[i:i + 1])[0]),
                     int(params["slice_qty"][i]), int(cost1[i]), int(be[i]),
                     int(rule_min[i]) if rule_min[i] >= 0 else None,
                     int(rule_net[i]) if rule_min[i] >= 0 else None)
        for i, s in enumerate(symbols)
    ]
    losing = [r for r in rows if r.rule_net_krw is not None and r.rule_net_krw < 0]
    never = [r for r in rows if r.rule_min_ticks is None]
    if losing or never:
        where = ws.locate("edge", ("rules",), key_pos=True)
    if losing:
        ex = ", ".join(f"{r.code} admits {r.rule_min_ticks} tick(s) and loses ₩{-r.rule_net_krw:,} "
                       f"(break-even {r.break_even_ticks})" for r in losing[:3])
        diags.add(*where, "KX805",
                  f"the rules admit losing trades for {len(losing)} of {len(rows)} symbols at their "
                  f"reference prices (do they count cost_krw, including the sell tax?): {ex}")
    if never:
        diags.add(*where, "KX806",
                  f"the rules admit no edge up to {MAX_PROBE_TICKS} ticks for {len(never)} symbols "
                  f"(e.g. {', '.join(r.code for r in never[:5])})")
    return Economics(run_date, rows)
