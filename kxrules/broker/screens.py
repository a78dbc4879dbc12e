"""Screen allocation: shard real-time registrations onto ≤100-code screens.

A symbol's codes on every quoted venue share one screen (``005930`` and ``005930_NX`` side by
side), so a screen holds ``codes_per_screen // venues`` symbols. Each screen gets one
``SetRealReg`` call per venue: the first with ``"0"`` (replace), the next with ``"1"`` (add).
"""
from __future__ import annotations

from dataclasses import dataclass

from .venues import VenueMapConfig


@dataclass(frozen=True, slots=True)
class Registration:
    screen: str
    codes: tuple[str, ...]  # real codes (with suffix)
    fids: tuple[int, ...]
    opt: str  # "0" replace, "1" add

    @property
    def codes_arg(self) -> str:
        return ";".join(self.codes)

    @property
    def fids_arg(self) -> str:
        return ";".join(str(f) for f in self.fids)


def plan_quote_registrations(codes: list[str], venues: VenueMapConfig, *, trades: bool = False
                             ) -> list[Registration]:
    """The SetRealReg calls that register every code on every quoted venue; with ``trades``,
    their 주식체결 too (every trade tick then crosses COM, so only for a listener that reads it)."""
    qv = venues.quote_venues()
    if not qv or not codes:
        return []
    sc = venues.screens
    if sc.codes_per_screen < len(qv):
        raise ValueError("codes_per_screen is smaller than the number of quoted venues")
    per_screen = sc.codes_per_screen // len(qv)
    n_screens = -(-len(codes) // per_screen)
    if n_screens > len(sc.market_data):
        raise ValueError(
            f"{len(codes)} symbols x {len(qv)} venues need {n_screens} screens of "
            f"{sc.codes_per_screen} codes; config/venues lists {len(sc.market_data)}")
    fids = tuple(dict.fromkeys((*venues.real_fids.quote, *(venues.real_fids.trade if trades else ()))))
    plan: list[Registration] = []
    for i in range(n_screens):
        chunk = codes[i * per_screen:(i + 1) * per_screen]
        for j, venue in enumerate(qv):
            plan.append(Registration(sc.market_data[i],
                                     tuple(venues.real_code(c, venue) for c in chunk),
                                     fids, "0" if j == 0 else "1"))
    return plan


def plan_session_registrations(venues: VenueMapConfig) -> list[Registration]:
    """Market-wide real types (장시작시간, VI발동/해제) on the session screen, empty code list."""
    rf = venues.real_fids
    out = [Registration(venues.screens.session, (), rf.session, "0")]
    if rf.vi:
        out.append(Registration(venues.screens.session, (), rf.vi, "1"))
    return out
