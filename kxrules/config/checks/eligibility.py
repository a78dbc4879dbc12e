"""Universe names NXT does not list on the run date: nothing can be traded on NXT there.

Inside the shipped list's dates the list is the fact: an absent name is an error (KX608, exit 1).
After its last date the list may be stale (NXT adds and drops names every quarter), so an absent
name is a warning (KX609); the broker's master data at login is the day's word on restrictions.
"""
from __future__ import annotations

import datetime as dt

from ..diagnostics import Diagnostics, Position
from ..eligibility import nxt_eligibility
from ..load import LoadedWorkspace


def check(ws: LoadedWorkspace, diags: Diagnostics, run_date: dt.date) -> None:
    if not ws.universe:
        return
    elig = nxt_eligibility()
    path = ws.paths["universe"]
    stale = run_date > elig.known_through
    day = elig.known_through if stale else run_date
    for sym in ws.universe:
        if elig.eligible_on(sym.code, day):
            continue
        if stale:
            diags.add(path, Position(sym.line, sym.col), "KX609",
                      f"{sym.code} {sym.name} is not on NXT's eligible list of {elig.known_through} (the shipped "
                      f"list's last date; the run date {run_date} is later): check NXT's current list")
        else:
            diags.add(path, Position(sym.line, sym.col), "KX608",
                      f"{sym.code} {sym.name} is not NXT-eligible on {run_date} (NXT's list; it cannot trade on NXT)")
