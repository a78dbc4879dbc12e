"""When the engine may open new pairs: a trading day, inside the guard window, both venues open,
connected, not killed; and per symbol, not under a VI and not muted with a reason (the broker's
master data says 거래정지, 관리종목, 투자경고/위험 or 정리매매; or the operator muted it).

Wall time (virtual in simulation) and FID 215 work together: the window is the clock's rule and
a venue's "closed" signal disarms even inside it. Holidays and late-open days come from the
calendar file.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from .. import seoul
from ..market import VENUES
from ..config.schema.sessions import CalendarFile, SessionsFile


class SessionGuard:
    def __init__(self, sessions: SessionsFile, calendar: CalendarFile, run_date: dt.date, n_symbols: int) -> None:
        self.trading_day = calendar.is_trading_day(run_date)
        late = next((x for x in calendar.late_open if x.date == run_date), None)
        open_shift = (late.open_delay_minutes * 60) if late else 0
        close_shift = (late.close_delay_minutes * 60) if late else 0
        g = sessions.guard
        self.window_start_ns = seoul.epoch_ns(run_date, g.start + open_shift)
        self.window_end_ns = seoul.epoch_ns(run_date, g.end + close_shift)
        self.arm_only_in_overlap = g.arm_only_in_overlap
        self.use_fid_215 = g.use_fid_215
        self._effects = {c.code: (c.venue, c.effect) for c in sessions.fid_215}
        self.venue_open: dict[str, bool | None] = {v: None for v in VENUES}
        self.connected = False
        self.account_known = False      # the broker's holdings have been read (the baseline)
        self.server_ok = False          # the broker logged in to the server the profile declares
        self.killed: str | None = None
        self.muted = np.zeros(n_symbols, dtype=bool)      # no new pairs: under a VI, or muted with a reason
        self.vi = np.zeros(n_symbols, dtype=bool)
        self.mute_reasons: dict[int, str] = {}             # sym -> why (관리종목, 거래정지 ...)
        self.operator_muted = np.zeros(n_symbols, dtype=bool)   # the operator's mute (ops view)
        self.operator_disarmed = False                          # the operator's disarm (ops view)

    def on_fid215(self, code: str) -> tuple[str, str] | None:
        """Apply a 장운영구분 code; returns (venue, effect) when it opened or closed a venue."""
        venue_effect = self._effects.get(code)
        if venue_effect is None:
            return None
        venue, effect = venue_effect
        if effect == "open":
            self.venue_open[venue] = True
        elif effect == "close":
            self.venue_open[venue] = False
        return venue_effect

    def on_vi(self, sym: int, active: bool) -> None:
        self.vi[sym] = active
        self.muted[sym] = active or sym in self.mute_reasons

    def mute(self, sym: int, reason: str) -> bool:
        """No new pairs on ``sym`` until unmuted (a VI's end does not lift it). False if it was
        already muted with a reason (the first reason stands)."""
        if sym in self.mute_reasons:
            return False
        self.mute_reasons[sym] = reason
        self.muted[sym] = True
        return True

    def unmute(self, sym: int) -> bool:
        """Lift a mute with a reason (a VI still in force keeps the symbol muted)."""
        if self.mute_reasons.pop(sym, None) is None:
            return False
        self.muted[sym] = bool(self.vi[sym])
        return True

    def kill(self, reason: str) -> None:
        if self.killed is None:
            self.killed = reason

    def in_window(self, now_ns: int) -> bool:
        return self.window_start_ns <= now_ns < self.window_end_ns

    def armed(self, now_ns: int) -> bool:
        """A trading day, not killed nor disarmed by the operator, connected to the declared
        server, the account read, inside the guard window (when the profile arms only in the
        overlap) and no venue reported closed by FID 215 (when it listens to it)."""
        return (self.trading_day and not self.killed and not self.operator_disarmed
                and self.connected and self.server_ok
                and self.account_known
                and (not self.arm_only_in_overlap or self.in_window(now_ns))
                and not (self.use_fid_215 and False in self.venue_open.values()))     # (bool | None values)
