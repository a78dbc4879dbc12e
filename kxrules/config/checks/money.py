"""Fee and tax tables must cover the run date for every venue, side and listing market."""
from __future__ import annotations

import datetime as dt

from ...market import VENUES
from ...money.fees import is_broker_commission
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace


def _overlaps(a, b) -> bool:
    a_to = a.to or dt.date.max
    b_to = b.to or dt.date.max
    return a.from_ <= b_to and b.from_ <= a_to


def check(ws: LoadedWorkspace, diags: Diagnostics, run_date: dt.date) -> None:
    fees = ws.models.get("fees")
    if fees is not None:
        for venue in VENUES:
            for side in ("buy", "sell"):
                covered = [f for f in fees.fees if f.venue == venue and side in f.sides
                           and any(p.covers(run_date) for p in f.periods)]
                if not any(is_broker_commission(f.name) for f in covered):
                    diags.add(*ws.locate("fees", ("fees",)), "KX701",
                              f"no broker commission for {venue} {side} on {run_date}")
        for i, f in enumerate(fees.fees):
            for j, p in enumerate(f.periods):
                if p.to is not None and p.to < p.from_:
                    diags.add(*ws.locate("fees", ("fees", i, "periods", j)), "KX703",
                              f"{f.name} {f.venue}: period ends {p.to} before it starts {p.from_}")
            for k, g in enumerate(fees.fees[:i]):
                same = (g.name == f.name and g.venue == f.venue and set(g.sides) & set(f.sides)
                        and (g.liquidity == f.liquidity or "any" in (g.liquidity, f.liquidity)))
                if same and any(_overlaps(p, q) for p in f.periods for q in g.periods):
                    diags.add(*ws.locate("fees", ("fees", i, "periods")), "KX703",
                              f"{f.name} {f.venue} ({f.liquidity}) overlaps entry {k + 1} "
                              f"({g.liquidity}) in time: the fee would be charged twice")
    tax = ws.models.get("tax")
    if tax is not None:
        for i, mt in enumerate(tax.taxes):
            ps = mt.periods
            for j, p in enumerate(ps):
                for q in ps[:j]:
                    if _overlaps(p, q):
                        diags.add(*ws.locate("tax", ("taxes", i, "periods", j)), "KX703",
                                  f"{mt.market}: tax period from {p.from_} overlaps the one from {q.from_}")
        markets_needed = {s.market for s in ws.universe} or {"KOSPI", "KOSDAQ"}
        for market in sorted(markets_needed):
            entries = [mt for mt in tax.taxes if mt.market == market]
            if not any(p.covers(run_date) for mt in entries for p in mt.periods):
                diags.add(*ws.locate("tax", ("taxes",)), "KX702",
                          f"no transaction tax for {market} on {run_date}")
