"""Throttle arithmetic against Kiwoom's 5-calls-per-second limits."""
from __future__ import annotations

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace

KIWOOM_CALLS_PER_SECOND = 5
LEGS_PER_PAIR = 2


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    t = ws.models.get("throttle")
    if t is None:
        return
    o = t.orders
    if o.reserve_for_hedge >= o.capacity:
        diags.add(*ws.locate("throttle", ("orders", "reserve_for_hedge")), "KX401",
                  f"reserve_for_hedge {o.reserve_for_hedge} leaves no slot for entries (capacity {o.capacity})")
    if o.min_free_to_start < LEGS_PER_PAIR + o.reserve_for_hedge:
        diags.add(*ws.locate("throttle", ("orders", "min_free_to_start")), "KX402",
                  f"min_free_to_start {o.min_free_to_start} < {LEGS_PER_PAIR} legs + reserve "
                  f"{o.reserve_for_hedge}: a pair could start without room to hedge")
    if o.min_free_to_start > o.capacity:
        diags.add(*ws.locate("throttle", ("orders", "min_free_to_start")), "KX402",
                  f"min_free_to_start {o.min_free_to_start} exceeds capacity {o.capacity}: no pair could ever start")
    for key, budget in (("orders", o), ("queries", t.queries)):
        # a sliding window lets its whole capacity go out in one burst: any window of 1 s or more
        # must hold at most 5 calls (10 per 2,000 ms can still send 10 within one second)
        if budget.capacity > KIWOOM_CALLS_PER_SECOND or budget.window_ms < 1000:
            diags.add(*ws.locate("throttle", (key, "capacity")), "KX403",
                      f"{key}: {budget.capacity} per {budget.window_ms} ms exceeds Kiwoom's "
                      f"{KIWOOM_CALLS_PER_SECOND} per 1,000 ms (the control answers -308)")
    ap = t.auto_pause
    if not ap.enabled:
        diags.add(*ws.locate("throttle", ("auto_pause", "enabled")), "KX404",
                  "auto_pause is off: nothing slows entries when the order budget runs hot")
    elif ap.utilisation > 1:
        diags.add(*ws.locate("throttle", ("auto_pause", "utilisation")), "KX404",
                  f"auto_pause.utilisation {ap.utilisation} is above 100%: it can never trigger")
