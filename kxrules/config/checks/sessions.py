"""Sessions: times in order, the guard inside both traded sessions, FID 215 map, calendar."""
from __future__ import annotations

import datetime as dt

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from ...market import VENUES
from ...seoul import fmt_hms


def check(ws: LoadedWorkspace, diags: Diagnostics, run_date: dt.date) -> None:
    s = ws.models.get("sessions")
    if s is not None:
        _check_sessions(ws, s, diags)
    cal = ws.models.get("calendar")
    if cal is not None:
        _check_calendar(ws, cal, diags, run_date)


def _check_sessions(ws: LoadedWorkspace, s, diags: Diagnostics) -> None:
    for venue, vs in s.venues.items():
        prev_end = None
        for i, sess in enumerate(vs.sessions):
            if sess.end <= sess.start:
                diags.add(*ws.locate("sessions", ("venues", venue, "sessions", i, "end")), "KX302",
                          f"{venue} {sess.name}: end {fmt_hms(sess.end)} is not after start {fmt_hms(sess.start)}")
            if prev_end is not None and sess.start < prev_end:
                diags.add(*ws.locate("sessions", ("venues", venue, "sessions", i, "start")), "KX302",
                          f"{venue} {sess.name} starts at {fmt_hms(sess.start)}, before the previous session ends "
                          f"({fmt_hms(prev_end)})")
            prev_end = sess.end
    for venue in VENUES:
        if venue not in s.venues:
            diags.add(*ws.locate("sessions", ("venues",)), "KX102", f"venues.{venue} is missing")
            continue
        name = s.trade_in.get(venue)
        if name is None:
            diags.add(*ws.locate("sessions", ("trade_in",)), "KX102", f"trade_in.{venue} is missing")
            continue
        sess = s.venues[venue].get(name)
        if sess is None:
            known = ", ".join(x.name for x in s.venues[venue].sessions)
            diags.add(*ws.locate("sessions", ("trade_in", venue)), "KX104",
                      f"trade_in.{venue}: no session '{name}' (known: {known})")
            continue
        if sess.kind != "continuous":
            diags.add(*ws.locate("sessions", ("trade_in", venue)), "KX104",
                      f"trade_in.{venue}: '{name}' is an auction; arbitrage needs continuous trading")
        g = s.guard
        if g.start >= g.end:
            diags.add(*ws.locate("sessions", ("guard", "end")), "KX302",
                      f"guard end {fmt_hms(g.end)} is not after start {fmt_hms(g.start)}")
        if g.start < sess.start:
            diags.add(*ws.locate("sessions", ("guard", "start")), "KX301",
                      f"guard starts at {fmt_hms(g.start)}, before {venue} {name} opens at {fmt_hms(sess.start)}")
        if g.end > sess.end:
            diags.add(*ws.locate("sessions", ("guard", "end")), "KX301",
                      f"guard ends at {fmt_hms(g.end)}, after {venue} {name} closes at {fmt_hms(sess.end)}")
    seen: dict[str, int] = {}
    for i, code in enumerate(s.fid_215):
        if code.venue not in VENUES:
            diags.add(*ws.locate("sessions", ("fid_215", i, "venue")), "KX303",
                      f"FID 215 code '{code.code}' names venue '{code.venue}': the venues are KRX and NXT")
        if code.code in seen:
            diags.add(*ws.locate("sessions", ("fid_215", i, "code")), "KX303",
                      f"FID 215 code '{code.code}' mapped twice (first at item {seen[code.code] + 1})")
        seen.setdefault(code.code, i)
    if s.guard.use_fid_215:
        for venue in VENUES:
            effects = {c.effect for c in s.fid_215 if c.venue == venue}
            for needed in ("open", "close"):
                if needed not in effects:
                    diags.add(*ws.locate("sessions", ("fid_215",)), "KX303",
                              f"guard.use_fid_215 is on but no {venue} code has effect '{needed}'")


def _check_calendar(ws: LoadedWorkspace, cal, diags: Diagnostics, run_date: dt.date) -> None:
    for i, h in enumerate(cal.holidays):
        if h.date.year not in cal.years:
            diags.add(*ws.locate("calendar", ("holidays", i, "date")), "KX104",
                      f"holiday {h.date} lies outside the calendar's years {cal.years}")
    if run_date.year not in cal.years:
        diags.add(*ws.locate("calendar", ("years",)), "KX305",
                  f"calendar covers {cal.years} but the run date is {run_date}: add {run_date.year}'s holidays")
        return
    at = next((i for i, h in enumerate(cal.holidays) if h.date == run_date), None)
    holiday = cal.holidays[at] if at is not None else None
    if run_date.weekday() >= 5 or holiday:
        why = holiday.name if holiday else "weekend"
        loc = ("holidays", at, "date") if at is not None else ("holidays",)
        diags.add(*ws.locate("calendar", loc), "KX304",
                  f"{run_date} is not a trading day ({why}): the engine will not arm")
